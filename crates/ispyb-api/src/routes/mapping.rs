//! X-ray fluorescence maps: `GET /mapping`, `/mapping/rois`, `/mapping/histogram/{id}`,
//! `/mapping/pixel/{id}` and the map as a PNG, `/mapping/{id}` (`dls` flavour; see
//! `ispyb_db::mapping`).

use std::io::{Read, Write};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ispyb_db::mapping::{self, Map, MapFilter, MapRoi};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, PageParams};

/// Mapping routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_maps))
        .routes(routes!(get_rois))
        .routes(routes!(get_map_histogram))
        .routes(routes!(get_map_pixel))
        .routes(routes!(get_map_image))
}

/// Filters of the map list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// Data collection.
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: Option<u32>,
    /// Data collection group.
    #[serde(rename = "dataCollectionGroupId")]
    #[param(rename = "dataCollectionGroupId", maximum = 4294967295_u64)]
    pub data_collection_group_id: Option<u32>,
    /// Sample.
    #[serde(rename = "blSampleId")]
    #[param(rename = "blSampleId", maximum = 4294967295_u64)]
    pub bl_sample_id: Option<u32>,
    /// Sub-sample.
    #[serde(rename = "blSubSampleId")]
    #[param(rename = "blSubSampleId", maximum = 4294967295_u64)]
    pub bl_sub_sample_id: Option<u32>,
    /// One map.
    #[serde(rename = "xrfFluorescenceMappingId")]
    #[param(rename = "xrfFluorescenceMappingId", maximum = 4294967295_u64)]
    pub id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// XRF maps of the data collections the caller may see (`dls` flavour; empty elsewhere).
#[utoipa::path(get, path = "/mapping", tag = "Mapping", operation_id = "get_maps", params(MapQuery),
    responses((status = 200, body = ispyb_db::Paged<Map>)), security(("HTTPBearer" = [])))]
pub async fn get_maps(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<MapQuery>,
) -> ApiResult<Json<ispyb_db::Paged<Map>>> {
    let options = state.options(false).await?;
    let f = MapFilter {
        id: q.id,
        data_collection_id: q.data_collection_id,
        data_collection_group_id: q.data_collection_group_id,
        bl_sample_id: q.bl_sample_id,
        bl_sub_sample_id: q.bl_sub_sample_id,
    };
    let mut paged = mapping::list(&state.db, &user.access(&options), &f, page).await?;
    for m in &mut paged.results {
        m.metadata.url = format!("{}/mapping/{}", state.config.api_root, m.id);
    }
    Ok(Json(paged))
}

/// Filters of the ROI list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoiQuery {
    /// Sample.
    #[serde(rename = "blSampleId")]
    #[param(rename = "blSampleId", maximum = 4294967295_u64)]
    pub bl_sample_id: Option<u32>,
    /// One ROI.
    #[serde(rename = "xrfFluorescenceMappingROIId")]
    #[param(rename = "xrfFluorescenceMappingROIId", maximum = 4294967295_u64)]
    pub id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Regions of interest of the samples the caller may see (`dls` flavour; empty elsewhere).
#[utoipa::path(get, path = "/mapping/rois", tag = "Mapping", operation_id = "get_map_rois", params(RoiQuery),
    responses((status = 200, body = ispyb_db::Paged<MapRoi>)), security(("HTTPBearer" = [])))]
pub async fn get_rois(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<RoiQuery>,
) -> ApiResult<Json<ispyb_db::Paged<MapRoi>>> {
    let options = state.options(false).await?;
    Ok(Json(mapping::rois(&state.db, &user.access(&options), q.bl_sample_id, q.id, page).await?))
}

/// Path of one map.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MapPath {
    /// `XRFFluorescenceMapping.xrfFluorescenceMappingId`.
    #[serde(rename = "xrfFluorescenceMappingId")]
    #[param(rename = "xrfFluorescenceMappingId", maximum = 4294967295_u64)]
    pub id: u32,
}

/// The values of a map laid out as its grid: `rows[y][x]`, -1 for points not measured.
struct Grid {
    rows: Vec<Vec<f64>>,
}

fn map_not_found() -> ApiError {
    ApiError::NotFound("Map not found".into())
}

/// Decodes `data` (JSON list, gzipped for `json+gzip`) and lays it out as py-ISPyB does:
/// `vertical` grids are stored column by column, `snaked` ones reverse every second row.
fn grid_of(map: &Map, data: &[u8]) -> Result<Grid, String> {
    let text = if map.data_format.as_deref() == Some("json+gzip") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(data).read_to_string(&mut s).map_err(|e| format!("gzip: {e}"))?;
        s
    } else {
        String::from_utf8_lossy(data).into_owned()
    };
    let values: Vec<Option<f64>> = serde_json::from_str(&text).map_err(|e| format!("data: {e}"))?;
    let (sx, sy) = match (map.grid.steps_x, map.grid.steps_y) {
        (Some(x), Some(y)) if x >= 1.0 && y >= 1.0 && x * y <= 4.0e7 => (x as usize, y as usize),
        _ => return Err("grid without steps".into()),
    };
    let at = |i: usize| values.get(i).copied().flatten().unwrap_or(-1.0);
    let vertical = map.grid.orientation.as_deref() == Some("vertical");
    let (outer, inner) = if vertical { (sx, sy) } else { (sy, sx) };
    let mut lines: Vec<Vec<f64>> = (0..outer).map(|o| (0..inner).map(|i| at(o * inner + i)).collect()).collect();
    if map.grid.snaked.unwrap_or(false) {
        for line in lines.iter_mut().skip(1).step_by(2) {
            line.reverse();
        }
    }
    let rows = if vertical {
        // Column by column: transpose into rows of x.
        (0..sy).map(|y| (0..sx).map(|x| lines[x][y]).collect()).collect()
    } else {
        lines
    };
    Ok(Grid { rows })
}

async fn load(state: &AppState, user: &CurrentUser, id: u32) -> ApiResult<(Map, Grid)> {
    let options = state.options(false).await?;
    let (map, data) =
        mapping::find_with_data(&state.db, &user.access(&options), id).await?.ok_or_else(map_not_found)?;
    let grid = grid_of(&map, &data).map_err(|reason| {
        tracing::warn!(map = id, %reason, "map not decoded");
        map_not_found()
    })?;
    Ok((map, grid))
}

/// `GET /mapping/histogram/{id}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MapHistogram {
    /// The map.
    #[serde(rename = "xrfFluorescenceMappingId")]
    pub id: u32,
    /// Counts in 50 bins.
    pub hist: Vec<u64>,
    /// Bin centres.
    pub bins: Vec<f64>,
    /// Bin widths.
    pub width: Vec<f64>,
}

/// Histogram of a map's values in 50 bins (points not measured count as 0).
#[utoipa::path(get, path = "/mapping/histogram/{xrfFluorescenceMappingId}", tag = "Mapping",
    operation_id = "get_map_histogram", params(MapPath), responses((status = 200, body = MapHistogram)),
    security(("HTTPBearer" = [])))]
pub async fn get_map_histogram(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<MapPath>,
) -> ApiResult<Json<MapHistogram>> {
    let (map, grid) = load(&state, &user, path.id).await?;
    let values: Vec<f64> = grid.rows.iter().flatten().map(|v| if *v == -1.0 { 0.0 } else { *v }).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return Ok(Json(MapHistogram { id: map.id, hist: vec![], bins: vec![], width: vec![] }));
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let step = (hi - lo) / 50.0;
    let mut hist = vec![0u64; 50];
    for v in &values {
        hist[(((v - lo) / step) as usize).min(49)] += 1;
    }
    let bins = (0..50).map(|i| lo + step * (i as f64 + 0.5)).collect();
    Ok(Json(MapHistogram { id: map.id, hist, bins, width: vec![step; 50] }))
}

/// Which pixel.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PixelQuery {
    /// Column.
    pub x: usize,
    /// Row.
    pub y: usize,
}

/// `GET /mapping/pixel/{id}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MapPixelValue {
    /// The map.
    #[serde(rename = "xrfFluorescenceMappingId")]
    pub id: u32,
    /// Column.
    pub x: usize,
    /// Row.
    pub y: usize,
    /// Value (-1 when not measured).
    pub value: f64,
}

/// The value of one point of a map.
#[utoipa::path(get, path = "/mapping/pixel/{xrfFluorescenceMappingId}", tag = "Mapping",
    operation_id = "get_map_pixel", params(MapPath, PixelQuery), responses((status = 200, body = MapPixelValue)),
    security(("HTTPBearer" = [])))]
pub async fn get_map_pixel(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<MapPath>,
    ApiQuery(q): ApiQuery<PixelQuery>,
) -> ApiResult<Json<MapPixelValue>> {
    let (map, grid) = load(&state, &user, path.id).await?;
    let value = grid.rows.get(q.y).and_then(|r| r.get(q.x)).copied().ok_or_else(|| {
        ApiError::invalid(&["query", "x"], "the point is outside the map", "value_error.number.not_le")
    })?;
    Ok(Json(MapPixelValue { id: map.id, x: q.x, y: q.y, value }))
}

/// The map as a PNG: values between the map's `min` and `max` (its own range when unset)
/// through its colour map (`viridis` unless `gray`/`Greys`/`hot`), unmeasured points
/// transparent.
#[utoipa::path(get, path = "/mapping/{xrfFluorescenceMappingId}", tag = "Mapping", operation_id = "get_map_image",
    params(MapPath), responses((status = 200, description = "PNG", content_type = "image/png")),
    security(("HTTPBearer" = [])))]
pub async fn get_map_image(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<MapPath>,
) -> ApiResult<Response> {
    let (map, grid) = load(&state, &user, path.id).await?;
    let measured = grid.rows.iter().flatten().copied().filter(|v| *v != -1.0);
    let (lo, hi) = measured.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let lo = map.min.map_or(lo, |m| m as f64);
    let hi = map.max.map_or(hi, |m| m as f64);
    let png = render_png(&grid.rows, lo, hi, map.colour_map.as_deref().unwrap_or("viridis"))
        .map_err(|e| ApiError::Internal(format!("png: {e}")))?;
    let mut res = Body::from(png).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(res)
}

/// RGBA of a value in 0..=1.
fn colour(name: &str, t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let stops: &[[f64; 3]] = match name {
        "gray" | "grey" | "Greys_r" => &[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]],
        "Greys" | "binary" => &[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]],
        "hot" => &[[0.04, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]],
        _ => &[
            [0.267, 0.005, 0.329],
            [0.283, 0.141, 0.458],
            [0.254, 0.265, 0.530],
            [0.207, 0.372, 0.553],
            [0.164, 0.471, 0.558],
            [0.128, 0.567, 0.551],
            [0.135, 0.659, 0.518],
            [0.267, 0.749, 0.441],
            [0.478, 0.821, 0.319],
            [0.741, 0.873, 0.150],
            [0.993, 0.906, 0.144],
        ],
    };
    let pos = t * (stops.len() - 1) as f64;
    let i = (pos.floor() as usize).min(stops.len() - 2);
    let f = pos - i as f64;
    let mix = |c: usize| ((stops[i][c] + (stops[i + 1][c] - stops[i][c]) * f) * 255.0).round() as u8;
    [mix(0), mix(1), mix(2)]
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// An RGBA PNG of a grid of values between `lo` and `hi` in a colour map (`-1` is
/// transparent); also draws the demo's placeholder images.
pub fn render_png(rows: &[Vec<f64>], lo: f64, hi: f64, cmap: &str) -> std::io::Result<Vec<u8>> {
    let height = rows.len();
    let width = rows.first().map_or(0, Vec::len);
    let mut raw = Vec::with_capacity(height * (width * 4 + 1));
    let span = if hi > lo { hi - lo } else { 1.0 };
    for row in rows {
        raw.push(0); // filter: none
        for &v in row {
            if v == -1.0 {
                raw.extend_from_slice(&[255, 255, 255, 0]);
            } else {
                let [r, g, b] = colour(cmap, (v - lo) / span);
                raw.extend_from_slice(&[r, g, b, 255]);
            }
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw)?;
    let idat = z.finish()?;
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_signature_and_crc() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        let png = render_png(&[vec![0.0, 1.0], vec![-1.0, 0.5]], 0.0, 1.0, "viridis").unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(colour("viridis", 0.0), [68, 1, 84]);
    }
}
