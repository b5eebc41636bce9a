//! Cryo-EM: session summaries, paged movies with their latest motion correction and CTF (JSON
//! or CSV), one movie with every derived row, its images (micrograph, thumbnails, power
//! spectrum, FFT, drift plot as PNG or points), per-movie series, server-side statistics and
//! histograms, 2D/3D classification with class images, and ingestion for acquisition and
//! processing software (`em_ingest` permission).
//!
//! Both schema flavours answer the same shapes (see `ispyb_db::em`): numbers stored as text
//! on the ESRF-style schema are JSON numbers here (null when they do not parse). Movies,
//! series, statistics and histograms take `since`, the `cursor` of a previous answer, and
//! then cover only the movies that are new or whose latest motion correction or CTF is.
//! Every image goes through `files.rs` (data roots, `PATH_MAP`, no traversal, 404 when
//! absent).

pub mod plot;

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ispyb_db::em::ingest::{self, Ingested, NewCtf, NewMotionCorrection, NewMovie, Refusal};
use ispyb_db::em::stats::{self, BinSpec, Distribution, HourCount};
use ispyb_db::em::{
    self, ClassFilter, ClassSort, Cursor, EmClass, EmCounts, EmMovieDetail, EmMoviePage, EmMovieRow, EmSessionSummary,
    MovieFile, MovieFilter, MovieSort, Scope,
};
use ispyb_db::types::DateTime;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, ApiQuery, PageParams};

/// Cryo-EM routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_session_summary))
        .routes(routes!(get_datacollection_stats))
        .routes(routes!(get_movies))
        .routes(routes!(get_movie))
        .routes(routes!(get_movie_thumbnail))
        .routes(routes!(get_movie_micrograph))
        .routes(routes!(get_movie_ctf))
        .routes(routes!(get_movie_fft))
        .routes(routes!(get_movie_drift))
        .routes(routes!(get_datacollection_series))
        .routes(routes!(get_session_series))
        .routes(routes!(get_datacollection_statistics))
        .routes(routes!(get_session_statistics))
        .routes(routes!(get_datacollection_histogram))
        .routes(routes!(get_session_histogram))
        .routes(routes!(get_classification))
        .routes(routes!(get_class_image))
        .routes(routes!(post_movie))
        .routes(routes!(post_motion_correction))
        .routes(routes!(post_ctf))
}

/// The permission of the ingestion routes.
pub const INGEST_PERMISSION: &str = "em_ingest";

/// Most rows of a CSV export.
pub const CSV_MAX: u64 = 100_000;

/// Most data collections one stats request may name.
const MAX_IDS: usize = 1000;

/// Path of a session.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    /// `BLSession.sessionId`.
    #[serde(rename = "sessionId")]
    #[param(rename = "sessionId", maximum = 4294967295_u64)]
    pub session_id: u32,
}

/// Path of a data collection.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DataCollectionPath {
    /// `DataCollection.dataCollectionId`.
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: u32,
}

/// Path of a movie.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MoviePath {
    /// `Movie.movieId`.
    #[serde(rename = "movieId")]
    #[param(rename = "movieId", maximum = 4294967295_u64)]
    pub movie_id: u32,
}

/// Path of a class.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClassPath {
    /// `ParticleClassification.particleClassificationId`.
    #[serde(rename = "particleClassificationId")]
    #[param(rename = "particleClassificationId", maximum = 4294967295_u64)]
    pub class_id: u32,
}

const SESSION_NOT_FOUND: &str = "Session not found";
const DC_NOT_FOUND: &str = "Data collection not found";
const MOVIE_NOT_FOUND: &str = "Movie not found";
const IMAGE_NOT_FOUND: &str = "Image not found";

fn not_found(scope: Scope) -> ApiError {
    ApiError::NotFound(
        match scope {
            Scope::Session(_) => SESSION_NOT_FOUND,
            Scope::Group(_) => "Data collection group not found",
            Scope::DataCollection(_) => DC_NOT_FOUND,
        }
        .into(),
    )
}

/// 404 unless the caller may see the scope.
async fn visible(state: &AppState, access: &ispyb_db::Access, scope: Scope) -> ApiResult<()> {
    if em::scope_visible(&state.db, access, scope).await? { Ok(()) } else { Err(not_found(scope)) }
}

fn parse_since(since: Option<&str>) -> ApiResult<Option<Cursor>> {
    match since {
        None => Ok(None),
        Some(s) => Cursor::parse(s).map(Some).ok_or_else(|| {
            ApiError::invalid(
                &["query", "since"],
                "expected the cursor of a previous answer (`M-C-F`) or a movie id",
                "value_error.cursor",
            )
        }),
    }
}

fn positive(loc: &'static str, v: Option<f64>, errors: &mut Vec<FieldError>) {
    if let Some(x) = v
        && !x.is_finite()
    {
        errors.push(FieldError::new(&["query", loc], "expected a finite number", "type_error.float"));
    }
}

// ---------------------------------------------------------------------------------------
// Summary and counts

/// A cryo-EM session at a glance: its grids (data collection groups) and grid squares (data
/// collections) with voltage, magnification, pixel size, frames, movie counts, processing
/// progress and the time of the last movie. Three statements whatever the number of movies.
#[utoipa::path(get, path = "/em/sessions/{sessionId}/summary", tag = "Cryo-EM", operation_id = "get_em_session_summary",
    params(SessionPath), responses((status = 200, body = EmSessionSummary), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_session_summary(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
) -> ApiResult<Json<EmSessionSummary>> {
    let options = state.options(false).await?;
    em::session_summary(&state.db, &user.access(&options), path.session_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound(SESSION_NOT_FOUND.into()))
}

/// Query of the per-data-collection counts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Data collection ids separated by commas, e.g. `1,2,3`.
    #[serde(rename = "dataCollectionIds")]
    #[param(rename = "dataCollectionIds", example = "1,2,3")]
    pub data_collection_ids: String,
}

/// Parses `1,2,3`; 422 on anything else, on an empty list or on too many ids.
fn id_list(text: &str, field: &str) -> ApiResult<Vec<u32>> {
    let mut ids = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        match item.parse::<u32>() {
            Ok(id) if !item.starts_with('+') => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    &["query", field],
                    "expected ids separated by commas",
                    "value_error.str.regex",
                ));
            }
        }
    }
    if ids.len() > MAX_IDS {
        return Err(ApiError::invalid(
            &["query", field],
            format!("at most {MAX_IDS} ids at once"),
            "value_error.list.max_items",
        ));
    }
    Ok(ids)
}

/// Movie, motion correction and CTF counts of the visible data collections among the ids (the
/// modern form of py-ISPyB's multi-id stats, with every id counted), in the order given.
#[utoipa::path(get, path = "/em/datacollections/stats", tag = "Cryo-EM", operation_id = "get_em_datacollection_stats",
    params(StatsQuery), responses((status = 200, body = Vec<EmCounts>), (status = 422, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_datacollection_stats(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<EmCounts>>> {
    let ids = id_list(&q.data_collection_ids, "dataCollectionIds")?;
    let options = state.options(false).await?;
    Ok(Json(em::counts(&state.db, &user.access(&options), &ids).await?))
}

// ---------------------------------------------------------------------------------------
// Movies

/// Query of the movie list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovieQuery {
    /// Movies of a data collection (grid square); give at most one of the three scopes
    /// (without one: every visible movie, newest first).
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: Option<u32>,
    /// Movies of a data collection group (grid).
    #[serde(rename = "dataCollectionGroupId")]
    #[param(rename = "dataCollectionGroupId", maximum = 4294967295_u64)]
    pub data_collection_group_id: Option<u32>,
    /// Movies of a session.
    #[serde(rename = "sessionId")]
    #[param(rename = "sessionId", maximum = 4294967295_u64)]
    pub session_id: Option<u32>,
    /// `movieNumber` (default with a scope), `createdTimeStamp` or `movieId` (`-movieId` without
    /// a scope); `-` in front for descending.
    #[param(pattern = r"^-?(movieNumber|createdTimeStamp|movieId)$")]
    pub sort: Option<String>,
    /// Only movies whose latest CTF resolution is at most this, Å.
    #[serde(rename = "maxResolution")]
    #[param(rename = "maxResolution")]
    pub max_resolution: Option<f64>,
    /// Only movies whose latest total motion is at most this, Å.
    #[serde(rename = "maxMotion")]
    #[param(rename = "maxMotion")]
    pub max_motion: Option<f64>,
    /// Only movies new or changed after this cursor (`cursor` of a previous answer).
    pub since: Option<String>,
    /// `json` (default) or `csv` (also chosen by `Accept: text/csv`).
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return (default 25; a CSV export returns up to 100000 rows by default).
    #[param(minimum = 1, maximum = 100000)]
    pub limit: Option<u64>,
}

fn one_scope(
    dc: Option<u32>,
    group: Option<u32>,
    session: Option<u32>,
    names: [&'static str; 3],
) -> ApiResult<Option<Scope>> {
    match (dc, group, session) {
        (None, None, None) => Ok(None),
        (Some(id), None, None) => Ok(Some(Scope::DataCollection(id))),
        (None, Some(id), None) => Ok(Some(Scope::Group(id))),
        (None, None, Some(id)) => Ok(Some(Scope::Session(id))),
        _ => Err(ApiError::invalid(
            &["query", names[0]],
            format!("give at most one of {}, {} and {}", names[0], names[1], names[2]),
            "value_error.any",
        )),
    }
}

fn sort_of(s: Option<&str>, default: &'static str) -> ApiResult<(MovieSort, bool)> {
    let s = s.unwrap_or(default);
    let (desc, name) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let sort = match name {
        "movieNumber" => MovieSort::MovieNumber,
        "createdTimeStamp" => MovieSort::Time,
        "movieId" => MovieSort::Id,
        _ => {
            return Err(ApiError::invalid(
                &["query", "sort"],
                "expected movieNumber, createdTimeStamp or movieId, optionally with a leading -",
                "value_error.str.regex",
            ));
        }
    };
    Ok((sort, desc))
}

fn wants_csv(format: Option<&str>, headers: &HeaderMap) -> ApiResult<bool> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::invalid(&["query", "format"], "expected json or csv", "value_error.str.regex")),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.split(',').any(|t| t.trim().starts_with("text/csv")))),
    }
}

/// Paged movies of a data collection, group or session (or every visible movie, newest
/// first) with their latest motion correction,
/// CTF estimation and ice thickness (Diamond's schema) and the particle count of their latest
/// picking, in one statement per page (plus a bounded count and the cursor). Filters:
/// `maxResolution`, `maxMotion`, `since`. `format=csv` (or `Accept: text/csv`) exports the
/// per-movie table as CSV (every matching movie unless `limit` is given, at most 100000).
#[utoipa::path(get, path = "/em/movies", tag = "Cryo-EM", operation_id = "get_em_movies", params(MovieQuery),
    responses((status = 200, body = EmMoviePage, content_type = "application/json"),
        (status = 200, description = "The per-movie table", content_type = "text/csv"),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_movies(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<MovieQuery>,
) -> ApiResult<Response> {
    let scope = one_scope(
        q.data_collection_id,
        q.data_collection_group_id,
        q.session_id,
        ["dataCollectionId", "dataCollectionGroupId", "sessionId"],
    )?;
    let sort = sort_of(q.sort.as_deref(), if scope.is_some() { "movieNumber" } else { "-movieId" })?;
    let csv = wants_csv(q.format.as_deref(), &headers)?;
    let mut errors = Vec::new();
    if scope.is_none() && (csv || q.since.is_some()) {
        errors.push(FieldError::new(
            &["query", "dataCollectionId"],
            "a CSV export and `since` need a dataCollectionId, dataCollectionGroupId or sessionId",
            "value_error.missing",
        ));
    }
    positive("maxResolution", q.max_resolution, &mut errors);
    positive("maxMotion", q.max_motion, &mut errors);
    let max = if csv { CSV_MAX } else { state.config.max_limit };
    let limit = q.limit.unwrap_or(if csv { CSV_MAX } else { 25 });
    if limit == 0 || limit > max {
        errors.push(FieldError::new(
            &["query", "limit"],
            format!("ensure this value is between 1 and {max}"),
            "value_error.number.not_le",
        ));
    }
    let skip = q.skip.unwrap_or(0);
    if skip > i32::MAX as u64 {
        errors.push(FieldError::new(
            &["query", "skip"],
            "ensure this value is at most 2147483647",
            "value_error.number.not_le",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = MovieFilter {
        max_resolution: q.max_resolution,
        max_motion: q.max_motion,
        since: parse_since(q.since.as_deref())?,
    };
    let options = state.options(false).await?;
    let access = user.access(&options);
    if let Some(scope) = scope {
        visible(&state, &access, scope).await?;
    }
    let page = ispyb_db::Page { skip, limit };
    if let (true, Some(scope)) = (csv, scope) {
        let cursor = em::cursor(&state.db, &access, scope).await?;
        let rows = em::movie_rows(&state.db, &access, Some(scope), &filter, sort, Some(page)).await?;
        let mut res = (StatusCode::OK, csv_table(&rows)).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"movies.csv\""));
        if let Ok(v) = HeaderValue::from_str(&cursor.to_string()) {
            h.insert("x-em-cursor", v);
        }
        return Ok(res);
    }
    Ok(Json(em::movies(&state.db, &access, scope, &filter, sort, page).await?).into_response())
}

/// The columns of the CSV export.
const CSV_COLUMNS: &[&str] = &[
    "movieId",
    "dataCollectionId",
    "movieNumber",
    "createdTimeStamp",
    "movieFullPath",
    "positionX",
    "positionY",
    "dosePerImage",
    "motionCorrectionId",
    "firstFrame",
    "lastFrame",
    "dosePerFrame",
    "totalMotion",
    "averageMotionPerFrame",
    "ctfId",
    "defocusU",
    "defocusV",
    "estimatedDefocus",
    "astigmatism",
    "astigmatismAngle",
    "resolution",
    "crossCorrelationCoefficient",
    "estimatedBfactor",
    "iceThicknessMedian",
    "numberOfParticles",
];

fn csv_field(out: &mut String, v: Option<String>) {
    if let Some(s) = v {
        if s.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&s);
        }
    }
}

fn date_text(d: &DateTime) -> Option<String> {
    d.0.map(|v| v.format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// The per-movie table as CSV (RFC 4180, a header line, empty cells for nulls).
pub fn csv_table(rows: &[EmMovieRow]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    let n = |v: Option<f64>| v.map(|x| x.to_string());
    let i = |v: Option<i64>| v.map(|x| x.to_string());
    for r in rows {
        let (m, mc, c) = (&r.movie, r.motion_correction.as_ref(), r.ctf.as_ref());
        let cells: Vec<Option<String>> = vec![
            Some(m.movie_id.to_string()),
            i(m.data_collection_id),
            i(m.movie_number),
            date_text(&m.created_time_stamp),
            m.movie_full_path.clone(),
            n(m.position_x),
            n(m.position_y),
            n(m.dose_per_image),
            mc.map(|x| x.motion_correction_id.to_string()),
            i(mc.and_then(|x| x.first_frame)),
            i(mc.and_then(|x| x.last_frame)),
            n(mc.and_then(|x| x.dose_per_frame)),
            n(mc.and_then(|x| x.total_motion)),
            n(mc.and_then(|x| x.average_motion_per_frame)),
            c.map(|x| x.ctf_id.to_string()),
            n(c.and_then(|x| x.defocus_u)),
            n(c.and_then(|x| x.defocus_v)),
            n(c.and_then(|x| x.estimated_defocus)),
            n(c.and_then(|x| x.astigmatism)),
            n(c.and_then(|x| x.astigmatism_angle)),
            n(c.and_then(|x| x.resolution)),
            n(c.and_then(|x| x.cross_correlation_coefficient)),
            n(c.and_then(|x| x.estimated_bfactor)),
            n(r.ice_thickness.as_ref().and_then(|x| x.median)),
            i(r.number_of_particles),
        ];
        for (k, cell) in cells.into_iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            csv_field(&mut out, cell);
        }
        out.push_str("\r\n");
    }
    out
}

/// One movie with every motion correction, CTF estimation, ice thickness and particle
/// picking (five statements at most).
#[utoipa::path(get, path = "/em/movies/{movieId}", tag = "Cryo-EM", operation_id = "get_em_movie", params(MoviePath),
    responses((status = 200, body = EmMovieDetail), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_movie(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<MoviePath>,
) -> ApiResult<Json<EmMovieDetail>> {
    let options = state.options(false).await?;
    em::movie(&state.db, &user.access(&options), path.movie_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound(MOVIE_NOT_FOUND.into()))
}

/// The path of a movie's file, or the route's 404.
async fn movie_path(state: &AppState, user: &CurrentUser, movie_id: u32, file: MovieFile) -> ApiResult<String> {
    let options = state.options(false).await?;
    match em::movie_file(&state.db, &user.access(&options), movie_id, file).await? {
        None => Err(ApiError::NotFound(MOVIE_NOT_FOUND.into())),
        Some(None) => Err(ApiError::NotFound(IMAGE_NOT_FOUND.into())),
        Some(Some(p)) if p.trim().is_empty() => Err(ApiError::NotFound(IMAGE_NOT_FOUND.into())),
        Some(Some(p)) => Ok(p),
    }
}

async fn serve_movie_file(
    state: &AppState,
    user: &CurrentUser,
    headers: &HeaderMap,
    movie_id: u32,
    file: MovieFile,
) -> ApiResult<Response> {
    let path = movie_path(state, user, movie_id, file).await?;
    crate::files::serve_file(&state.config, &path, headers, IMAGE_NOT_FOUND).await
}

/// The movie's own thumbnail (`Movie.micrographSnapshotFullPath`, ESRF-style schema).
#[utoipa::path(get, path = "/em/movies/{movieId}/thumbnail", tag = "Cryo-EM", operation_id = "get_em_movie_thumbnail",
    params(MoviePath), responses((status = 200, description = "The image", content_type = "image/*"),
        (status = 404, body = crate::error::ErrorBody)), security(("HTTPBearer" = [])))]
pub async fn get_movie_thumbnail(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<MoviePath>,
) -> ApiResult<Response> {
    serve_movie_file(&state, &user, &headers, path.movie_id, MovieFile::Thumbnail).await
}

/// The motion-corrected micrograph's thumbnail (latest motion correction's
/// `micrographSnapshotFullPath`).
#[utoipa::path(get, path = "/em/movies/{movieId}/micrograph", tag = "Cryo-EM", operation_id = "get_em_movie_micrograph",
    params(MoviePath), responses((status = 200, description = "The image", content_type = "image/*"),
        (status = 404, body = crate::error::ErrorBody)), security(("HTTPBearer" = [])))]
pub async fn get_movie_micrograph(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<MoviePath>,
) -> ApiResult<Response> {
    serve_movie_file(&state, &user, &headers, path.movie_id, MovieFile::Micrograph).await
}

/// The power spectrum of the latest CTF estimation (`spectraImageThumbnailFullPath`, or
/// `fftTheoreticalFullPath` on Diamond's schema).
#[utoipa::path(get, path = "/em/movies/{movieId}/ctf", tag = "Cryo-EM", operation_id = "get_em_movie_ctf",
    params(MoviePath), responses((status = 200, description = "The image", content_type = "image/*"),
        (status = 404, body = crate::error::ErrorBody)), security(("HTTPBearer" = [])))]
pub async fn get_movie_ctf(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<MoviePath>,
) -> ApiResult<Response> {
    serve_movie_file(&state, &user, &headers, path.movie_id, MovieFile::CtfSpectrum).await
}

/// Query of the FFT image.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FftQuery {
    /// The FFT of the motion-corrected micrograph rather than of the raw one.
    pub corrected: Option<bool>,
}

/// The FFT of the latest motion correction (Diamond's schema: `fftFullPath` or, with
/// `corrected=true`, `fftCorrectedFullPath`; 404 elsewhere).
#[utoipa::path(get, path = "/em/movies/{movieId}/fft", tag = "Cryo-EM", operation_id = "get_em_movie_fft",
    params(MoviePath, FftQuery), responses((status = 200, description = "The image", content_type = "image/*"),
        (status = 404, body = crate::error::ErrorBody)), security(("HTTPBearer" = [])))]
pub async fn get_movie_fft(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<MoviePath>,
    ApiQuery(q): ApiQuery<FftQuery>,
) -> ApiResult<Response> {
    let file = if q.corrected.unwrap_or(false) { MovieFile::FftCorrected } else { MovieFile::Fft };
    serve_movie_file(&state, &user, &headers, path.movie_id, file).await
}

/// Query of the drift plot.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DriftQuery {
    /// `png` or `json` (points); default from `Accept` (`application/json` gives points),
    /// else PNG.
    #[param(pattern = "^(png|json)$")]
    pub format: Option<String>,
}

/// Largest drift JSON file read.
const MAX_DRIFT_FILE: u64 = 8 * 1024 * 1024;

/// The drift of the latest motion correction: the PNG the ESRF-style schema names, or, from
/// Diamond's JSON drift files, the points (`format=json`) or a PNG drawn from them. Points
/// cannot be read back from a PNG (404).
#[utoipa::path(get, path = "/em/movies/{movieId}/drift", tag = "Cryo-EM", operation_id = "get_em_movie_drift",
    params(MoviePath, DriftQuery),
    responses((status = 200, description = "The plot", content_type = "image/png"),
        (status = 200, body = plot::DriftPoints, content_type = "application/json"),
        (status = 404, body = crate::error::ErrorBody)), security(("HTTPBearer" = [])))]
pub async fn get_movie_drift(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<MoviePath>,
    ApiQuery(q): ApiQuery<DriftQuery>,
) -> ApiResult<Response> {
    let json = match q.format.as_deref() {
        Some("json") => true,
        Some("png") => false,
        Some(_) => {
            return Err(ApiError::invalid(&["query", "format"], "expected png or json", "value_error.str.regex"));
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json") && !a.contains("image/")),
    };
    let file = movie_path(&state, &user, path.movie_id, MovieFile::Drift).await?;
    let is_json = file.to_ascii_lowercase().ends_with(".json");
    if !is_json {
        if json {
            return Err(ApiError::NotFound("Drift points not available (the drift plot is an image)".into()));
        }
        return crate::files::serve_file(&state.config, &file, &headers, IMAGE_NOT_FOUND).await;
    }
    let points = read_drift(&state, &file).await?;
    if json {
        return Ok(Json(points).into_response());
    }
    let mut res = plot::drift_png(&points).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(res)
}

/// Reads and parses a JSON drift file through the data-root checks of `files.rs`.
pub(crate) async fn read_drift(state: &AppState, path: &str) -> ApiResult<plot::DriftPoints> {
    let (file, _, meta) = crate::files::open(&state.config, path).await.map_err(|reason| {
        tracing::warn!(path = %path, reason = %reason, "file not served");
        ApiError::NotFound(IMAGE_NOT_FOUND.into())
    })?;
    if meta.len() > MAX_DRIFT_FILE {
        return Err(ApiError::NotFound("Drift file too large".into()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_DRIFT_FILE)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ApiError::Internal(format!("read drift: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| ApiError::NotFound("Drift file is not readable".into()))?;
    plot::parse_drift(&value).ok_or(ApiError::NotFound("Drift file is not readable".into()))
}

// ---------------------------------------------------------------------------------------
// Series, statistics, histograms

/// Query of the per-movie series.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Quantities separated by commas (default all): `totalMotion`, `averageMotionPerFrame`,
    /// `defocusU`, `defocusV`, `defocus`, `astigmatism`, `astigmatismAngle`, `resolution`,
    /// `crossCorrelationCoefficient`, `estimatedBfactor`, `iceThickness`.
    pub fields: Option<String>,
    /// Only movies new or changed after this cursor.
    pub since: Option<String>,
    /// At most this many points: every n-th movie is kept when there are more.
    #[serde(rename = "maxPoints")]
    #[param(rename = "maxPoints", minimum = 1)]
    pub max_points: Option<u32>,
}

/// Per-movie values, one list per quantity (index `i` of every list is the same movie), in
/// acquisition order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmSeries {
    /// Send as `since` to get only what is new afterwards.
    pub cursor: String,
    /// Movies in the scope (after `since`), before downsampling.
    pub count: u64,
    /// One movie in `step` was kept (1: all).
    pub step: u64,
    /// Movie ids.
    pub movie_id: Vec<i64>,
    /// Movie numbers.
    pub movie_number: Vec<Option<i64>>,
    /// Data collections.
    pub data_collection_id: Vec<Option<i64>>,
    /// Times the movies were recorded.
    #[schema(value_type = Vec<Option<String>>)]
    pub created_time_stamp: Vec<DateTime>,
    /// The values of each requested quantity (null where a movie has none).
    pub series: BTreeMap<String, Vec<Option<f64>>>,
}

fn fields_of(text: Option<&str>) -> ApiResult<Vec<&'static str>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else { return Ok(em::FIELDS.to_vec()) };
    text.split(',')
        .map(|f| {
            em::FIELDS.iter().copied().find(|k| *k == f.trim()).ok_or_else(|| {
                ApiError::invalid(
                    &["query", "fields"],
                    format!("unknown field {}; expected some of {}", f.trim(), em::FIELDS.join(", ")),
                    "value_error.str.regex",
                )
            })
        })
        .collect()
}

async fn series(state: &AppState, user: &CurrentUser, scope: Scope, q: &SeriesQuery) -> ApiResult<EmSeries> {
    let fields = fields_of(q.fields.as_deref())?;
    let since = parse_since(q.since.as_deref())?;
    if q.max_points == Some(0) {
        return Err(ApiError::invalid(
            &["query", "maxPoints"],
            "ensure this value is at least 1",
            "value_error.number.not_ge",
        ));
    }
    let options = state.options(false).await?;
    let access = user.access(&options);
    visible(state, &access, scope).await?;
    let cursor = em::cursor(&state.db, &access, scope).await?;
    let movies = em::numbers(&state.db, &access, scope, &MovieFilter { since, ..Default::default() }).await?;
    let count = movies.len() as u64;
    let step = match q.max_points {
        Some(n) if count > u64::from(n) => count.div_ceil(u64::from(n)),
        _ => 1,
    };
    let kept: Vec<&em::MovieNumbers> = movies.iter().step_by(step as usize).collect();
    Ok(EmSeries {
        cursor: cursor.to_string(),
        count,
        step,
        movie_id: kept.iter().map(|m| m.movie_id).collect(),
        movie_number: kept.iter().map(|m| m.movie_number).collect(),
        data_collection_id: kept.iter().map(|m| m.data_collection_id).collect(),
        created_time_stamp: kept.iter().map(|m| m.created).collect(),
        series: fields.iter().map(|f| (f.to_string(), kept.iter().map(|m| m.get(f)).collect())).collect(),
    })
}

/// Per-movie series of a data collection for plots (motion, defocus, astigmatism,
/// resolution, …), by movie number; `since` for what is new, `maxPoints` to downsample.
#[utoipa::path(get, path = "/em/datacollections/{dataCollectionId}/series", tag = "Cryo-EM",
    operation_id = "get_em_datacollection_series", params(DataCollectionPath, SeriesQuery),
    responses((status = 200, body = EmSeries), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_datacollection_series(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<DataCollectionPath>,
    ApiQuery(q): ApiQuery<SeriesQuery>,
) -> ApiResult<Json<EmSeries>> {
    Ok(Json(series(&state, &user, Scope::DataCollection(path.data_collection_id), &q).await?))
}

/// Per-movie series of a session, by acquisition time.
#[utoipa::path(get, path = "/em/sessions/{sessionId}/series", tag = "Cryo-EM", operation_id = "get_em_session_series",
    params(SessionPath, SeriesQuery), responses((status = 200, body = EmSeries), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_session_series(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
    ApiQuery(q): ApiQuery<SeriesQuery>,
) -> ApiResult<Json<EmSeries>> {
    Ok(Json(series(&state, &user, Scope::Session(path.session_id), &q).await?))
}

/// Query of the statistics.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatisticsQuery {
    /// Resolution threshold, Å (default 4): the share of movies whose CTF resolution is at
    /// most this.
    #[serde(rename = "resolutionThreshold")]
    #[param(rename = "resolutionThreshold", default = 4.0)]
    pub resolution_threshold: Option<f64>,
    /// Motion threshold, Å: the share of movies whose total motion is at most this.
    #[serde(rename = "motionThreshold")]
    #[param(rename = "motionThreshold")]
    pub motion_threshold: Option<f64>,
    /// Only movies new or changed after this cursor.
    pub since: Option<String>,
}

/// Aggregates of the movies of a data collection or session, computed by the server.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmStatistics {
    /// Send as `since` to get only what is new afterwards.
    pub cursor: String,
    /// Movies.
    pub movies: u64,
    /// Movies with a motion correction.
    pub movies_motion_corrected: u64,
    /// Movies whose latest motion correction has a CTF estimation.
    pub movies_ctf_estimated: u64,
    /// First movie.
    #[schema(value_type = Option<String>)]
    pub first_movie_time: DateTime,
    /// Last movie.
    #[schema(value_type = Option<String>)]
    pub last_movie_time: DateTime,
    /// Movies per hour between the first and the last movie.
    pub movies_per_hour: Option<f64>,
    /// Movies per clock hour.
    pub per_hour: Vec<HourCount>,
    /// The resolution threshold used, Å.
    pub resolution_threshold: f64,
    /// Movies whose resolution is at most the threshold.
    pub movies_under_resolution_threshold: u64,
    /// Their share of the movies with a resolution (0 to 1).
    pub share_under_resolution_threshold: Option<f64>,
    /// The motion threshold used, Å.
    pub motion_threshold: Option<f64>,
    /// Movies whose total motion is at most the threshold.
    pub movies_under_motion_threshold: Option<u64>,
    /// Their share of the movies with a total motion.
    pub share_under_motion_threshold: Option<f64>,
    /// CTF resolution, Å.
    pub resolution: Distribution,
    /// Defocus (mean of U and V), Å.
    pub defocus: Distribution,
    /// Astigmatism, Å.
    pub astigmatism: Distribution,
    /// Total motion, Å.
    pub total_motion: Distribution,
    /// Average motion per frame, Å.
    pub average_motion_per_frame: Distribution,
    /// Median relative ice thickness (Diamond's schema; empty elsewhere).
    pub ice_thickness: Distribution,
}

fn under(values: &[Option<f64>], threshold: f64) -> (u64, Option<f64>) {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let n = known.iter().filter(|v| **v <= threshold).count() as u64;
    (n, (!known.is_empty()).then(|| n as f64 / known.len() as f64))
}

async fn statistics(
    state: &AppState,
    user: &CurrentUser,
    scope: Scope,
    q: &StatisticsQuery,
) -> ApiResult<EmStatistics> {
    let since = parse_since(q.since.as_deref())?;
    let mut errors = Vec::new();
    positive("resolutionThreshold", q.resolution_threshold, &mut errors);
    positive("motionThreshold", q.motion_threshold, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let options = state.options(false).await?;
    let access = user.access(&options);
    visible(state, &access, scope).await?;
    let cursor = em::cursor(&state.db, &access, scope).await?;
    let movies = em::numbers(&state.db, &access, scope, &MovieFilter { since, ..Default::default() }).await?;
    let column = |f: &str| -> Vec<Option<f64>> { movies.iter().map(|m| m.get(f)).collect() };
    let dist = |f: &str| stats::distribution(column(f).into_iter().flatten());
    let times: Vec<chrono::NaiveDateTime> = movies.iter().filter_map(|m| m.created.0).collect();
    let (per_hour, rate) = stats::throughput(&times);
    let threshold = q.resolution_threshold.unwrap_or(4.0);
    let (res_n, res_share) = under(&column("resolution"), threshold);
    let motion = q.motion_threshold.map(|t| under(&column("totalMotion"), t));
    Ok(EmStatistics {
        cursor: cursor.to_string(),
        movies: movies.len() as u64,
        movies_motion_corrected: movies.iter().filter(|m| m.motion_corrected).count() as u64,
        movies_ctf_estimated: movies.iter().filter(|m| m.ctf_estimated).count() as u64,
        first_movie_time: DateTime(times.iter().min().copied()),
        last_movie_time: DateTime(times.iter().max().copied()),
        movies_per_hour: rate,
        per_hour,
        resolution_threshold: threshold,
        movies_under_resolution_threshold: res_n,
        share_under_resolution_threshold: res_share,
        motion_threshold: q.motion_threshold,
        movies_under_motion_threshold: motion.map(|m| m.0),
        share_under_motion_threshold: motion.and_then(|m| m.1),
        resolution: dist("resolution"),
        defocus: dist("defocus"),
        astigmatism: dist("astigmatism"),
        total_motion: dist("totalMotion"),
        average_motion_per_frame: dist("averageMotionPerFrame"),
        ice_thickness: dist("iceThickness"),
    })
}

/// Aggregates of a data collection: counts, throughput, distributions (median, quartiles,
/// 10th and 90th percentiles) of resolution, defocus, astigmatism and motion, and the share of
/// movies under a resolution (and motion) threshold. One statement over the movies' latest
/// results, whatever their number.
#[utoipa::path(get, path = "/em/datacollections/{dataCollectionId}/statistics", tag = "Cryo-EM",
    operation_id = "get_em_datacollection_statistics", params(DataCollectionPath, StatisticsQuery),
    responses((status = 200, body = EmStatistics), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_datacollection_statistics(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<DataCollectionPath>,
    ApiQuery(q): ApiQuery<StatisticsQuery>,
) -> ApiResult<Json<EmStatistics>> {
    Ok(Json(statistics(&state, &user, Scope::DataCollection(path.data_collection_id), &q).await?))
}

/// Aggregates of a session (see the data collection form).
#[utoipa::path(get, path = "/em/sessions/{sessionId}/statistics", tag = "Cryo-EM",
    operation_id = "get_em_session_statistics", params(SessionPath, StatisticsQuery),
    responses((status = 200, body = EmStatistics), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_session_statistics(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
    ApiQuery(q): ApiQuery<StatisticsQuery>,
) -> ApiResult<Json<EmStatistics>> {
    Ok(Json(statistics(&state, &user, Scope::Session(path.session_id), &q).await?))
}

/// Query of a histogram.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistogramQuery {
    /// The quantity (see the series' `fields`).
    pub field: Option<String>,
    /// Number of bins (default 20).
    #[param(minimum = 1, maximum = 1000)]
    pub bins: Option<u32>,
    /// Width of a bin (wins over `bins`).
    #[serde(rename = "binWidth")]
    #[param(rename = "binWidth")]
    pub bin_width: Option<f64>,
    /// Lower edge (default the smallest value).
    pub min: Option<f64>,
    /// Upper edge (default the largest value).
    pub max: Option<f64>,
    /// Only movies new or changed after this cursor.
    pub since: Option<String>,
}

/// A histogram of one quantity over the movies.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EmHistogram {
    /// The quantity.
    pub field: String,
    /// Send as `since` to get only what is new afterwards.
    pub cursor: String,
    /// The histogram.
    #[serde(flatten)]
    pub histogram: stats::Histogram,
}

async fn histogram(state: &AppState, user: &CurrentUser, scope: Scope, q: &HistogramQuery) -> ApiResult<EmHistogram> {
    let field = q.field.as_deref().and_then(|f| em::FIELDS.iter().copied().find(|k| *k == f)).ok_or_else(|| {
        ApiError::invalid(
            &["query", "field"],
            format!("expected one of {}", em::FIELDS.join(", ")),
            "value_error.missing",
        )
    })?;
    let since = parse_since(q.since.as_deref())?;
    let mut errors = Vec::new();
    for (name, v) in [("min", q.min), ("max", q.max), ("binWidth", q.bin_width)] {
        positive(name, v, &mut errors);
    }
    if q.bin_width.is_some_and(|w| w <= 0.0) {
        errors.push(FieldError::new(
            &["query", "binWidth"],
            "ensure this value is greater than 0",
            "value_error.number.not_gt",
        ));
    }
    if let (Some(lo), Some(hi)) = (q.min, q.max)
        && hi < lo
    {
        errors.push(FieldError::new(&["query", "max"], "ensure max is not below min", "value_error.number.not_ge"));
    }
    if q.bins.is_some_and(|b| b == 0 || b > stats::MAX_BINS) {
        errors.push(FieldError::new(
            &["query", "bins"],
            format!("ensure 1 <= bins <= {}", stats::MAX_BINS),
            "value_error.number.not_le",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let options = state.options(false).await?;
    let access = user.access(&options);
    visible(state, &access, scope).await?;
    let cursor = em::cursor(&state.db, &access, scope).await?;
    let movies = em::numbers(&state.db, &access, scope, &MovieFilter { since, ..Default::default() }).await?;
    let values: Vec<f64> = movies.iter().filter_map(|m| m.get(field)).collect();
    let missing = (movies.len() - values.len()) as u64;
    let spec = BinSpec { min: q.min, max: q.max, bins: q.bins, width: q.bin_width };
    Ok(EmHistogram {
        field: field.to_string(),
        cursor: cursor.to_string(),
        histogram: stats::histogram(&values, missing, spec),
    })
}

/// Histogram of a quantity over the movies of a data collection (latest results), with the
/// values below and above the range and the movies without a value counted apart.
#[utoipa::path(get, path = "/em/datacollections/{dataCollectionId}/histogram", tag = "Cryo-EM",
    operation_id = "get_em_datacollection_histogram", params(DataCollectionPath, HistogramQuery),
    responses((status = 200, body = EmHistogram), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)), security(("HTTPBearer" = [])))]
pub async fn get_datacollection_histogram(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<DataCollectionPath>,
    ApiQuery(q): ApiQuery<HistogramQuery>,
) -> ApiResult<Json<EmHistogram>> {
    Ok(Json(histogram(&state, &user, Scope::DataCollection(path.data_collection_id), &q).await?))
}

/// Histogram of a quantity over the movies of a session.
#[utoipa::path(get, path = "/em/sessions/{sessionId}/histogram", tag = "Cryo-EM", operation_id = "get_em_session_histogram",
    params(SessionPath, HistogramQuery), responses((status = 200, body = EmHistogram),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_session_histogram(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
    ApiQuery(q): ApiQuery<HistogramQuery>,
) -> ApiResult<Json<EmHistogram>> {
    Ok(Json(histogram(&state, &user, Scope::Session(path.session_id), &q).await?))
}

// ---------------------------------------------------------------------------------------
// Classification

/// Filters of the class list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClassQuery {
    /// Classes of a session.
    #[serde(rename = "sessionId")]
    #[param(rename = "sessionId", maximum = 4294967295_u64)]
    pub session_id: Option<u32>,
    /// Classes of a data collection.
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: Option<u32>,
    /// Classes of one classification group (batch).
    #[serde(rename = "particleClassificationGroupId")]
    #[param(rename = "particleClassificationGroupId", maximum = 4294967295_u64)]
    pub group_id: Option<u32>,
    /// `2D` or `3D`.
    #[serde(rename = "type")]
    #[param(rename = "type", pattern = "^(2D|3D)$")]
    pub kind: Option<String>,
    /// `particles` (most first, default), `resolution` (best first) or `class`.
    #[serde(rename = "sortBy")]
    #[param(rename = "sortBy", pattern = "^(particles|resolution|class)$")]
    pub sort_by: Option<String>,
    /// Only the classes flagged as selected (Diamond's schema; ignored elsewhere).
    #[serde(rename = "selectedOnly")]
    #[param(rename = "selectedOnly")]
    pub selected_only: Option<bool>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// 2D and 3D classes the caller may see, with their group, picking and initial models
/// (py-ISPyB's legacy classification route was broken; this is its working form).
#[utoipa::path(get, path = "/em/classification", tag = "Cryo-EM", operation_id = "get_em_classification",
    params(ClassQuery), responses((status = 200, body = ispyb_db::Paged<EmClass>), (status = 422, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_classification(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<ClassQuery>,
) -> ApiResult<Json<ispyb_db::Paged<EmClass>>> {
    let mut errors = Vec::new();
    if q.kind.as_deref().is_some_and(|k| k != "2D" && k != "3D") {
        errors.push(FieldError::new(&["query", "type"], "expected 2D or 3D", "value_error.str.regex"));
    }
    let sort = match q.sort_by.as_deref() {
        None | Some("particles") => ClassSort::Particles,
        Some("resolution") => ClassSort::Resolution,
        Some("class") => ClassSort::Class,
        Some(_) => {
            errors.push(FieldError::new(
                &["query", "sortBy"],
                "expected particles, resolution or class",
                "value_error.str.regex",
            ));
            ClassSort::Particles
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = ClassFilter {
        session_id: q.session_id,
        data_collection_id: q.data_collection_id,
        group_id: q.group_id,
        kind: q.kind,
        selected_only: q.selected_only.unwrap_or(false),
        sort,
    };
    let options = state.options(false).await?;
    Ok(Json(em::classes(&state.db, &user.access(&options), &filter, page).await?))
}

/// The image of a class (`classImageFullPath`).
#[utoipa::path(get, path = "/em/classification/{particleClassificationId}/image", tag = "Cryo-EM",
    operation_id = "get_em_class_image", params(ClassPath),
    responses((status = 200, description = "The image", content_type = "image/*"), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn get_class_image(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ClassPath>,
) -> ApiResult<Response> {
    let options = state.options(false).await?;
    let file = match em::class_image(&state.db, &user.access(&options), path.class_id).await? {
        None => return Err(ApiError::NotFound("Classification not found".into())),
        Some(Some(p)) if !p.trim().is_empty() => p,
        Some(_) => return Err(ApiError::NotFound(IMAGE_NOT_FOUND.into())),
    };
    crate::files::serve_file(&state.config, &file, &headers, IMAGE_NOT_FOUND).await
}

// ---------------------------------------------------------------------------------------
// Ingestion

fn ingested(result: Result<Ingested, Refusal>) -> ApiResult<Response> {
    match result {
        Ok(done) => {
            let status = if done.created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(done)).into_response())
        }
        Err(r) => Err(ApiError::invalid(&["body", r.field], r.message, "value_error")),
    }
}

/// Records a movie (Java ISPyB's `addMovie`): into a data collection, or into a session (by id,
/// or the proposal and beamline of the session running now) where the group of the sample and
/// the data collection of the movie directory are found or created. Idempotent on
/// `movieFullPath`: 201 when created, 200 with the existing movie when it was already there.
/// One transaction; needs the `em_ingest` permission.
#[utoipa::path(post, path = "/webservices/em/movies", tag = "Cryo-EM ingestion", operation_id = "post_em_movie",
    request_body = NewMovie,
    responses((status = 201, body = Ingested), (status = 200, body = Ingested, description = "Already recorded"),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn post_movie(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewMovie>,
) -> ApiResult<Response> {
    user.require(INGEST_PERMISSION)?;
    ingested(ingest::add_movie(&state.db, &body).await?)
}

/// Records a motion correction of a movie (by `movieId` or `movieFullPath`); a repeated
/// request with the same `micrographFullPath` returns the row already recorded (200).
#[utoipa::path(post, path = "/webservices/em/motion-corrections", tag = "Cryo-EM ingestion",
    operation_id = "post_em_motion_correction", request_body = NewMotionCorrection,
    responses((status = 201, body = Ingested), (status = 200, body = Ingested, description = "Already recorded"),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn post_motion_correction(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewMotionCorrection>,
) -> ApiResult<Response> {
    user.require(INGEST_PERMISSION)?;
    ingested(ingest::add_motion_correction(&state.db, &body).await?)
}

/// Records a CTF estimation of a motion correction (by id, or the latest of a movie given by
/// `movieFullPath`); a repeated request with the same `spectraImageThumbnailFullPath` returns
/// the row already recorded (200). ESRF-style and Diamond's field names are both accepted.
#[utoipa::path(post, path = "/webservices/em/ctfs", tag = "Cryo-EM ingestion", operation_id = "post_em_ctf",
    request_body = NewCtf,
    responses((status = 201, body = Ingested), (status = 200, body = Ingested, description = "Already recorded"),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn post_ctf(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewCtf>,
) -> ApiResult<Response> {
    user.require(INGEST_PERMISSION)?;
    ingested(ingest::add_ctf(&state.db, &body).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_strict() {
        assert_eq!(id_list("3, 1,3", "x").unwrap(), vec![3, 1]);
        assert!(id_list("1,a", "x").is_err());
        assert!(id_list("", "x").is_err());
        assert!(id_list("+1", "x").is_err());
    }

    #[test]
    fn sorts_parse() {
        assert_eq!(sort_of(None, "movieNumber").unwrap(), (MovieSort::MovieNumber, false));
        assert_eq!(sort_of(None, "-movieId").unwrap(), (MovieSort::Id, true));
        assert_eq!(sort_of(Some("-createdTimeStamp"), "movieNumber").unwrap(), (MovieSort::Time, true));
        assert!(sort_of(Some("resolution"), "movieNumber").is_err());
    }

    #[test]
    fn csv_quotes_and_leaves_nulls_empty() {
        let mut out = String::new();
        csv_field(&mut out, Some("a,\"b\"".into()));
        assert_eq!(out, "\"a,\"\"b\"\"\"");
        assert_eq!(csv_table(&[]).lines().next().unwrap().split(',').count(), CSV_COLUMNS.len());
    }
}
