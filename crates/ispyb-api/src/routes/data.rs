//! Diffraction images read from the HDF5 files a data collection points to:
//! `GET /data/images` (raw float32 pixels), `/data/images/header` and `/data/images/histogram`.
//!
//! The file is `imageDirectory/fileTemplate` (with `PATH_MAP`), opened through `files.rs`
//! only. A Dectris master file links its frames from data files (external links); those are
//! looked up beside it by the detector's naming (`x_master.h5` → `x_data_000001.h5`, …), each
//! opened through `files.rs` as well.

pub mod frames;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ispyb_db::events;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::frames::{Frame, H5};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;

/// Data routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_image))
        .routes(routes!(get_image_header))
        .routes(routes!(get_image_histogram))
}

/// Which image.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// Image number, from 1.
    #[serde(rename = "imageNumber")]
    #[param(rename = "imageNumber", minimum = 1)]
    pub image_number: u64,
    /// Data collection (the latest visible one when omitted).
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: Option<u32>,
}

const NOT_FOUND: &str = "Image not found";

fn not_found() -> ApiError {
    ApiError::NotFound(NOT_FOUND.into())
}

/// Most data files looked for beside a master file.
const MAX_DATA_FILES: u32 = 10_000;

/// A frame and the file's instrument header.
struct Loaded {
    frame: Frame,
    header: serde_json::Value,
}

async fn load(state: &AppState, user: &CurrentUser, q: &ImageQuery, with_header: bool) -> ApiResult<Loaded> {
    if q.image_number == 0 {
        return Err(ApiError::invalid(
            &["query", "imageNumber"],
            "ensure this value is greater than 0",
            "value_error.number.not_gt",
        ));
    }
    let options = state.options(false).await?;
    let access = user.access(&options);
    let dc = match q.data_collection_id {
        Some(id) => events::find_data_collection(&state.db, &access, id).await?,
        None => events::latest_data_collection(&state.db, &access).await?,
    }
    .ok_or_else(not_found)?;
    if dc.number_of_images.is_some_and(|n| q.image_number > u64::from(n)) {
        return Err(not_found());
    }
    let (dir, template) = match (&dc.image_directory, &dc.file_template) {
        (Some(d), Some(t)) if !t.contains('/') => (d.trim_end_matches('/').to_string(), t.clone()),
        _ => return Err(not_found()),
    };
    let ext = template.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if ext != "h5" && ext != "hdf5" {
        // CBF frames are not read (docs/compatibility.md).
        return Err(not_found());
    }
    read_frame(&state.config, &dir, &template, q.image_number, with_header).await.map_err(|reason| {
        tracing::warn!(data_collection = dc.data_collection_id, %reason, "image not read");
        not_found()
    })
}

/// Opens a file through `files.rs` as a blocking `std::fs::File`.
async fn open_std(config: &Config, path: &str) -> Result<std::fs::File, String> {
    let (file, _, _) = crate::files::open(config, path).await?;
    Ok(file.into_std().await)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| e.to_string())?
}

async fn read_frame(
    config: &Config,
    dir: &str,
    template: &str,
    number: u64,
    with_header: bool,
) -> Result<Loaded, String> {
    let master = open_std(config, &format!("{dir}/{template}")).await?;
    let (found, header) = blocking(move || {
        let mut h5 = H5::open(master)?;
        let header = if with_header { Some(instrument(&h5)) } else { None };
        let frame = match h5.find(number) {
            Some((path, index)) => Some(h5.read(&path, index)?),
            None => None,
        };
        Ok((frame, header))
    })
    .await?;
    let frame = match found {
        Some(frame) => frame,
        None => {
            // Frames behind external links: the detector's data files beside the master.
            let prefix = template
                .strip_suffix("_master.h5")
                .or_else(|| template.strip_suffix("_master.hdf5"))
                .ok_or("no dataset holds this image number")?;
            let mut frame = None;
            for k in 1..=MAX_DATA_FILES {
                let Ok(file) = open_std(config, &format!("{dir}/{prefix}_data_{k:06}.h5")).await else { break };
                if let Some(f) = blocking(move || {
                    let mut h5 = H5::open(file)?;
                    match h5.find(number) {
                        Some((path, index)) => h5.read(&path, index).map(Some),
                        None => Ok(None),
                    }
                })
                .await?
                {
                    frame = Some(f);
                    break;
                }
            }
            frame.ok_or("no data file holds this image number")?
        }
    };
    let header = match header {
        Some(instr) => braggy_header(&instr, &frame),
        None => serde_json::Value::Null,
    };
    Ok(Loaded { frame, header })
}

/// Instrument parameters of a NeXus file.
struct Instrument {
    wavelength: Option<f64>,
    distance: Option<f64>,
    pixel_x: Option<f64>,
    pixel_y: Option<f64>,
    width: Option<f64>,
    height: Option<f64>,
    beam_x: Option<f64>,
    beam_y: Option<f64>,
}

fn instrument(h5: &H5) -> Instrument {
    Instrument {
        wavelength: h5.instrument("beam/incident_wavelength"),
        distance: h5.instrument("detector/detector_distance"),
        pixel_x: h5.instrument("detector/x_pixel_size"),
        pixel_y: h5.instrument("detector/y_pixel_size"),
        width: h5.instrument("detector/detectorSpecific/x_pixels_in_detector"),
        height: h5.instrument("detector/detectorSpecific/y_pixels_in_detector"),
        beam_x: h5.instrument("detector/beam_center_x"),
        beam_y: h5.instrument("detector/beam_center_y"),
    }
}

/// py-ISPyB's `braggy_hdr`: geometry plus statistics of the frame without its saturated
/// (maximum) pixels.
fn braggy_header(i: &Instrument, frame: &Frame) -> serde_json::Value {
    let width = i.width.unwrap_or(frame.width as f64);
    let height = i.height.unwrap_or(frame.height as f64);
    let half = |size: f64, centre: Option<f64>| centre.map(|c| size / 2.0 - c);
    let inv = |v: Option<f64>| v.filter(|v| *v != 0.0).map(|v| 1.0 / v);
    let max = frame.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let clean: Vec<f32> = frame.data.iter().copied().filter(|v| *v != max).collect();
    let stats = frames::array_stats(if clean.is_empty() { &frame.data } else { &clean });
    let mut hdr = serde_json::json!({
        "wavelength": i.wavelength,
        "detector_distance": i.distance,
        "beam_cx": i.beam_x,
        "beam_cy": i.beam_y,
        "beam_ocx": half(width, i.beam_x),
        "beam_ocy": half(height, i.beam_y),
        "detector_radius": i.pixel_x.map(|p| width * p / 2.0),
        "pixel_size_x": i.pixel_x,
        "pixel_size_y": i.pixel_y,
        "img_width": width,
        "img_height": height,
        "pxxpm": inv(i.pixel_x),
        "pxypm": inv(i.pixel_y),
    });
    if let (Some(h), Some(s)) = (hdr.as_object_mut(), stats.as_object()) {
        h.extend(s.clone());
    }
    serde_json::json!({ "braggy_hdr": hdr })
}

/// The pixels of one diffraction image as little-endian float32, row by row.
#[utoipa::path(get, path = "/data/images", tag = "Data", operation_id = "get_image", params(ImageQuery),
    responses((status = 200, description = "float32 pixels", content_type = "application/octet-stream")),
    security(("HTTPBearer" = [])))]
pub async fn get_image(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ImageQuery>,
) -> ApiResult<Response> {
    let loaded = load(&state, &user, &q, false).await?;
    let bytes: Vec<u8> = loaded.frame.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut res = Body::from(bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert("x-image-width", HeaderValue::from(loaded.frame.width));
    h.insert("x-image-height", HeaderValue::from(loaded.frame.height));
    Ok(res)
}

/// Geometry and statistics of one diffraction image (py-ISPyB's `braggy_hdr`).
#[utoipa::path(get, path = "/data/images/header", tag = "Data", operation_id = "get_image_header", params(ImageQuery),
    responses((status = 200, body = Object)), security(("HTTPBearer" = [])))]
pub async fn get_image_header(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ImageQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(load(&state, &user, &q, true).await?.header))
}

/// Histogram of one diffraction image (`values`, bin edges `bins`, `shape`, `max`).
#[utoipa::path(get, path = "/data/images/histogram", tag = "Data", operation_id = "get_image_histogram",
    params(ImageQuery), responses((status = 200, body = Object)), security(("HTTPBearer" = [])))]
pub async fn get_image_histogram(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ImageQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let loaded = load(&state, &user, &q, false).await?;
    Ok(Json(
        tokio::task::spawn_blocking(move || frames::histogram(&loaded.frame.data))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}
