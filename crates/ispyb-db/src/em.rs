//! Cryo-EM: movies with their motion correction, CTF and (Diamond's schema) ice thickness,
//! session summaries, per-movie series and statistics, 2D/3D classification, the files they
//! name, and ingestion ([`ingest`]). Java ISPyB's legacy EM queries are in [`legacy`].
//!
//! The two schema flavours differ here more than anywhere: the ESRF-style `ispyb` flavour keeps
//! EM numbers as text (`CTF.resolutionLimit varchar(45)`) and hangs everything off `Movie`;
//! Diamond's types them, renames some (`estimatedResolution`, `ccValue`, `astigmatismAngle`)
//! and adds processing runs and `RelativeIceThickness`. Every statement here is written per
//! flavour from one column table ([`Col`]), and every row decodes into one unified shape in
//! which numbers are JSON numbers: text that does not parse as a finite number is `null`.
//!
//! A movie's "latest" motion correction is the one with the highest id, and its CTF the
//! latest of that motion correction (Java ISPyB's rule); a reprocessed movie is one row.
//! Every read goes Movie → DataCollection → DataCollectionGroup → BLSession and applies the
//! caller's [`Access`]. Lists choose their rows first and read each movie's latest results
//! with index lookups, so a page, a summary or a histogram is a fixed number of statements
//! whatever the number of movies.

pub mod ingest;
pub mod legacy;
pub mod stats;

use std::collections::HashMap;

use sqlx::mysql::MySqlRow;
use sqlx::{ColumnIndex, Decode, MySql, QueryBuilder, Row, TypeInfo, ValueRef};

use crate::meta::{Flavour, Table};
use crate::sql::push_ids;
use crate::types::{DateTime, Int};
use crate::{Access, Db, Page, models};

/// A column of a unified row: its JSON key, and its SQL expression in each flavour (`None`
/// where the flavour lacks it: selected as `NULL`).
type Col = (&'static str, Option<&'static str>, Option<&'static str>);

const MOVIE: &[Col] = &[
    ("movieId", Some("m.movieId"), Some("m.movieId")),
    ("dataCollectionId", Some("m.dataCollectionId"), Some("m.dataCollectionId")),
    ("movieNumber", Some("m.movieNumber"), Some("m.movieNumber")),
    ("movieFullPath", Some("m.movieFullPath"), Some("m.movieFullPath")),
    ("createdTimeStamp", Some("m.createdTimeStamp"), Some("m.createdTimeStamp")),
    ("positionX", Some("m.positionX"), Some("m.positionX")),
    ("positionY", Some("m.positionY"), Some("m.positionY")),
    ("dosePerImage", Some("m.dosePerImage"), None),
    ("micrographFullPath", Some("m.micrographFullPath"), None),
    ("micrographSnapshotFullPath", Some("m.micrographSnapshotFullPath"), None),
    ("xmlMetaDataFullPath", Some("m.xmlMetaDataFullPath"), None),
    ("nominalDefocus", None, Some("m.nominalDefocus")),
    ("angle", None, Some("m.angle")),
    ("fluence", None, Some("m.fluence")),
    ("numberOfFrames", None, Some("m.numberOfFrames")),
    ("foilHoleId", None, Some("m.foilHoleId")),
];

const MOTION: &[Col] = &[
    ("motionCorrectionId", Some("mc.motionCorrectionId"), Some("mc.motionCorrectionId")),
    ("movieId", Some("mc.movieId"), Some("mc.movieId")),
    ("autoProcProgramId", None, Some("mc.autoProcProgramId")),
    ("imageNumber", None, Some("mc.imageNumber")),
    ("firstFrame", Some("mc.firstFrame"), Some("mc.firstFrame")),
    ("lastFrame", Some("mc.lastFrame"), Some("mc.lastFrame")),
    ("dosePerFrame", Some("mc.dosePerFrame"), Some("mc.dosePerFrame")),
    ("doseWeight", Some("mc.doseWeight"), Some("mc.doseWeight")),
    ("totalMotion", Some("mc.totalMotion"), Some("mc.totalMotion")),
    ("averageMotionPerFrame", Some("mc.averageMotionPerFrame"), Some("mc.averageMotionPerFrame")),
    ("patchesUsed", Some("mc.patchesUsed"), None),
    ("patchesUsedX", None, Some("mc.patchesUsedX")),
    ("patchesUsedY", None, Some("mc.patchesUsedY")),
    ("driftPlotFullPath", Some("mc.driftPlotFullPath"), Some("mc.driftPlotFullPath")),
    ("micrographFullPath", Some("mc.micrographFullPath"), Some("mc.micrographFullPath")),
    ("micrographSnapshotFullPath", Some("mc.micrographSnapshotFullPath"), Some("mc.micrographSnapshotFullPath")),
    ("correctedDoseMicrographFullPath", Some("mc.correctedDoseMicrographFullPath"), None),
    ("fftFullPath", None, Some("mc.fftFullPath")),
    ("fftCorrectedFullPath", None, Some("mc.fftCorrectedFullPath")),
    ("logFileFullPath", Some("mc.logFileFullPath"), None),
    ("comments", None, Some("mc.comments")),
    ("createdTimeStamp", Some("mc.createdTimeStamp"), None),
];

const CTF: &[Col] = &[
    ("ctfId", Some("c.CTFid"), Some("c.ctfId")),
    ("motionCorrectionId", Some("c.motionCorrectionId"), Some("c.motionCorrectionId")),
    ("autoProcProgramId", None, Some("c.autoProcProgramId")),
    ("defocusU", Some("c.defocusU"), None),
    ("defocusV", Some("c.defocusV"), None),
    ("estimatedDefocus", None, Some("c.estimatedDefocus")),
    ("astigmatism", None, Some("c.astigmatism")),
    ("astigmatismAngle", Some("c.angle"), Some("c.astigmatismAngle")),
    ("resolution", Some("c.resolutionLimit"), Some("c.estimatedResolution")),
    ("crossCorrelationCoefficient", Some("c.crossCorrelationCoefficient"), Some("c.ccValue")),
    ("estimatedBfactor", Some("c.estimatedBfactor"), None),
    ("boxSizeX", None, Some("c.boxSizeX")),
    ("boxSizeY", None, Some("c.boxSizeY")),
    ("minResolution", None, Some("c.minResolution")),
    ("maxResolution", None, Some("c.maxResolution")),
    ("minDefocus", None, Some("c.minDefocus")),
    ("maxDefocus", None, Some("c.maxDefocus")),
    ("defocusStepSize", None, Some("c.defocusStepSize")),
    ("amplitudeContrast", None, Some("c.amplitudeContrast")),
    ("iceRingDensity", None, Some("c.iceRingDensity")),
    ("spectraImageThumbnailFullPath", Some("c.spectraImageThumbnailFullPath"), Some("c.fftTheoreticalFullPath")),
    ("spectraImageFullPath", Some("c.spectraImageFullPath"), None),
    ("logFilePath", Some("c.logFilePath"), None),
    ("comments", None, Some("c.comments")),
    ("createdTimeStamp", Some("c.createdTimeStamp"), None),
];

const ICE: &[Col] = &[
    ("relativeIceThicknessId", None, Some("r.relativeIceThicknessId")),
    ("motionCorrectionId", None, Some("r.motionCorrectionId")),
    ("autoProcProgramId", None, Some("r.autoProcProgramId")),
    ("minimum", None, Some("r.minimum")),
    ("q1", None, Some("r.q1")),
    ("median", None, Some("r.median")),
    ("q3", None, Some("r.q3")),
    ("maximum", None, Some("r.maximum")),
];

/// `expr AS `prefix_key`` for each column (`NULL` where the flavour lacks it).
fn select(cols: &[Col], prefix: &str, flavour: Flavour) -> String {
    cols.iter()
        .map(|(key, ispyb, dls)| {
            let expr = match flavour {
                Flavour::Ispyb => ispyb,
                Flavour::Dls => dls,
            };
            format!("{} AS `{prefix}_{key}`", expr.unwrap_or("NULL"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the flavour has `RelativeIceThickness` (Diamond's; an ESRF-style database that
/// added the table through the generated schema would say so in its flavour's metadata).
pub fn has_ice_thickness(flavour: Flavour) -> bool {
    <models::RelativeIceThickness as Table>::meta().in_flavour(flavour)
}

fn ctf_id(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Ispyb => "CTFid",
        Flavour::Dls => "ctfId",
    }
}

/// A regular expression for the text MariaDB and Rust both read as a finite decimal number.
const NUMBER_RE: &str = "^[[:space:]]*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?[[:space:]]*$";

/// A column as a number in SQL: itself where it is numeric, else parsed when it looks like a
/// number and `NULL` otherwise (never MariaDB's silent 0 for `CAST('abc' AS DOUBLE)`).
pub(crate) fn sql_number(expr: &str, flavour: Flavour) -> String {
    match flavour {
        Flavour::Ispyb => format!("(CASE WHEN {expr} REGEXP '{NUMBER_RE}' THEN CAST({expr} AS DOUBLE) END)"),
        Flavour::Dls => expr.to_string(),
    }
}

/// Text as a number as Rust reads it; `None` unless finite.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    // Rust reads `inf` and `nan`; MariaDB does not, and neither is a measurement.
    if t.is_empty() || t.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

// ---------------------------------------------------------------------------------------
// Decoding

fn type_name<I: ColumnIndex<MySqlRow> + Copy>(row: &MySqlRow, col: I) -> Option<String> {
    let raw = row.try_get_raw(col).ok()?;
    if raw.is_null() { None } else { Some(raw.type_info().name().to_string()) }
}

/// A column (by name or index) as a number: numbers as the database prints them (a `FLOAT`
/// 3.2 is 3.2, not 3.2000000476837), text parsed, anything else `None`.
pub(crate) fn number<I: ColumnIndex<MySqlRow> + Copy>(row: &MySqlRow, col: I) -> Option<f64> {
    let ty = type_name(row, col)?;
    let raw = row.try_get_raw(col).ok()?;
    let v = if ty.starts_with("FLOAT") {
        let f = <f32 as Decode<MySql>>::decode(raw).ok()?;
        f.to_string().parse::<f64>().ok()?
    } else if ty.starts_with("DOUBLE") {
        <f64 as Decode<MySql>>::decode(raw).ok()?
    } else if ty.starts_with("DECIMAL") {
        let d = <rust_decimal::Decimal as Decode<MySql>>::decode(raw).ok()?;
        rust_decimal::prelude::ToPrimitive::to_f64(&d)?
    } else if ty == "BOOLEAN" || ty.contains("INT") {
        Int::decode(raw).ok()?.0 as f64
    } else {
        let bytes = <&[u8] as Decode<MySql>>::decode(raw).ok()?;
        parse_number(std::str::from_utf8(bytes).ok()?)?
    };
    v.is_finite().then_some(v)
}

/// A column as an integer (text and whole floats too).
pub(crate) fn integer<I: ColumnIndex<MySqlRow> + Copy>(row: &MySqlRow, col: I) -> Option<i64> {
    let ty = type_name(row, col)?;
    if ty == "BOOLEAN" || ty.contains("INT") {
        let raw = row.try_get_raw(col).ok()?;
        return Int::decode(raw).ok().map(|i| i.0);
    }
    let v = number(row, col)?;
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

/// A column as text (numbers as the database prints them).
pub(crate) fn text<I: ColumnIndex<MySqlRow> + Copy>(row: &MySqlRow, col: I) -> Option<String> {
    let ty = type_name(row, col)?;
    let raw = row.try_get_raw(col).ok()?;
    if ty.contains("INT") || ty.starts_with("FLOAT") || ty.starts_with("DOUBLE") || ty.starts_with("DECIMAL") {
        return number(row, col).map(|v| v.to_string());
    }
    let bytes = <&[u8] as Decode<MySql>>::decode(raw).ok()?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// A temporal column.
pub(crate) fn datetime<I: ColumnIndex<MySqlRow> + Copy>(row: &MySqlRow, col: I) -> DateTime {
    match row.try_get_raw(col) {
        Ok(raw) if !raw.is_null() => DateTime::decode(raw).unwrap_or_default(),
        _ => DateTime(None),
    }
}

// ---------------------------------------------------------------------------------------
// Unified rows

/// A movie, in the same shape on both schema flavours (fields the flavour lacks are null).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmMovie {
    /// `Movie.movieId`.
    pub movie_id: i64,
    /// The data collection (grid square on the ESRF-style schema).
    pub data_collection_id: Option<i64>,
    /// Number of the movie in its data collection.
    pub movie_number: Option<i64>,
    /// The raw movie file.
    pub movie_full_path: Option<String>,
    /// When the row was written.
    #[schema(value_type = Option<String>)]
    pub created_time_stamp: DateTime,
    /// Stage position X.
    pub position_x: Option<f64>,
    /// Stage position Y.
    pub position_y: Option<f64>,
    /// Dose per image (ESRF-style schema).
    pub dose_per_image: Option<f64>,
    /// Micrograph (ESRF-style schema).
    pub micrograph_full_path: Option<String>,
    /// Micrograph thumbnail (ESRF-style schema).
    pub micrograph_snapshot_full_path: Option<String>,
    /// Acquisition metadata XML (ESRF-style schema).
    pub xml_meta_data_full_path: Option<String>,
    /// Nominal defocus, Å (Diamond's schema).
    pub nominal_defocus: Option<f64>,
    /// Tilt angle, degrees (Diamond's schema).
    pub angle: Option<f64>,
    /// Fluence, e⁻/Å² (Diamond's schema).
    pub fluence: Option<f64>,
    /// Frames in the movie (Diamond's schema).
    pub number_of_frames: Option<i64>,
    /// Foil hole (Diamond's schema).
    pub foil_hole_id: Option<i64>,
}

impl EmMovie {
    fn from_row(row: &MySqlRow, p: &str) -> Option<Self> {
        let c = |k: &str| format!("{p}_{k}");
        Some(Self {
            movie_id: integer(row, c("movieId").as_str())?,
            data_collection_id: integer(row, c("dataCollectionId").as_str()),
            movie_number: integer(row, c("movieNumber").as_str()),
            movie_full_path: text(row, c("movieFullPath").as_str()),
            created_time_stamp: datetime(row, c("createdTimeStamp").as_str()),
            position_x: number(row, c("positionX").as_str()),
            position_y: number(row, c("positionY").as_str()),
            dose_per_image: number(row, c("dosePerImage").as_str()),
            micrograph_full_path: text(row, c("micrographFullPath").as_str()),
            micrograph_snapshot_full_path: text(row, c("micrographSnapshotFullPath").as_str()),
            xml_meta_data_full_path: text(row, c("xmlMetaDataFullPath").as_str()),
            nominal_defocus: number(row, c("nominalDefocus").as_str()),
            angle: number(row, c("angle").as_str()),
            fluence: number(row, c("fluence").as_str()),
            number_of_frames: integer(row, c("numberOfFrames").as_str()),
            foil_hole_id: integer(row, c("foilHoleId").as_str()),
        })
    }
}

/// A motion correction, in the same shape on both flavours.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmMotionCorrection {
    /// `MotionCorrection.motionCorrectionId`.
    pub motion_correction_id: i64,
    /// The movie.
    pub movie_id: Option<i64>,
    /// The processing run (Diamond's schema).
    pub auto_proc_program_id: Option<i64>,
    /// Sequence number of the image in the run (Diamond's schema).
    pub image_number: Option<i64>,
    /// First frame used.
    pub first_frame: Option<i64>,
    /// Last frame used.
    pub last_frame: Option<i64>,
    /// Dose per frame, e⁻/Å².
    pub dose_per_frame: Option<f64>,
    /// Dose weight.
    pub dose_weight: Option<f64>,
    /// Total motion, Å.
    pub total_motion: Option<f64>,
    /// Average motion per frame, Å.
    pub average_motion_per_frame: Option<f64>,
    /// Patches used, as text (ESRF-style schema).
    pub patches_used: Option<String>,
    /// Patches used in X (Diamond's schema).
    pub patches_used_x: Option<i64>,
    /// Patches used in Y (Diamond's schema).
    pub patches_used_y: Option<i64>,
    /// Drift plot: PNG (ESRF-style) or JSON points (Diamond's).
    pub drift_plot_full_path: Option<String>,
    /// Motion-corrected micrograph.
    pub micrograph_full_path: Option<String>,
    /// Its thumbnail.
    pub micrograph_snapshot_full_path: Option<String>,
    /// Dose-weighted micrograph (ESRF-style schema).
    pub corrected_dose_micrograph_full_path: Option<String>,
    /// FFT of the micrograph (Diamond's schema).
    pub fft_full_path: Option<String>,
    /// FFT of the corrected micrograph (Diamond's schema).
    pub fft_corrected_full_path: Option<String>,
    /// Log file (ESRF-style schema).
    pub log_file_full_path: Option<String>,
    /// Comments (Diamond's schema).
    pub comments: Option<String>,
    /// When the row was written (ESRF-style schema).
    #[schema(value_type = Option<String>)]
    pub created_time_stamp: DateTime,
}

impl EmMotionCorrection {
    fn from_row(row: &MySqlRow, p: &str) -> Option<Self> {
        let c = |k: &str| format!("{p}_{k}");
        Some(Self {
            motion_correction_id: integer(row, c("motionCorrectionId").as_str())?,
            movie_id: integer(row, c("movieId").as_str()),
            auto_proc_program_id: integer(row, c("autoProcProgramId").as_str()),
            image_number: integer(row, c("imageNumber").as_str()),
            first_frame: integer(row, c("firstFrame").as_str()),
            last_frame: integer(row, c("lastFrame").as_str()),
            dose_per_frame: number(row, c("dosePerFrame").as_str()),
            dose_weight: number(row, c("doseWeight").as_str()),
            total_motion: number(row, c("totalMotion").as_str()),
            average_motion_per_frame: number(row, c("averageMotionPerFrame").as_str()),
            patches_used: text(row, c("patchesUsed").as_str()),
            patches_used_x: integer(row, c("patchesUsedX").as_str()),
            patches_used_y: integer(row, c("patchesUsedY").as_str()),
            drift_plot_full_path: text(row, c("driftPlotFullPath").as_str()),
            micrograph_full_path: text(row, c("micrographFullPath").as_str()),
            micrograph_snapshot_full_path: text(row, c("micrographSnapshotFullPath").as_str()),
            corrected_dose_micrograph_full_path: text(row, c("correctedDoseMicrographFullPath").as_str()),
            fft_full_path: text(row, c("fftFullPath").as_str()),
            fft_corrected_full_path: text(row, c("fftCorrectedFullPath").as_str()),
            log_file_full_path: text(row, c("logFileFullPath").as_str()),
            comments: text(row, c("comments").as_str()),
            created_time_stamp: datetime(row, c("createdTimeStamp").as_str()),
        })
    }
}

/// A CTF estimation, in the same shape on both flavours. Where the ESRF-style schema has
/// `defocusU`/`defocusV`, `estimatedDefocus` is their mean and `astigmatism` their absolute
/// difference (CTFFIND's convention); `resolution` is `resolutionLimit` there and
/// `estimatedResolution` on Diamond's, `astigmatismAngle` is `angle` there,
/// `crossCorrelationCoefficient` is Diamond's `ccValue` and `spectraImageThumbnailFullPath`
/// Diamond's `fftTheoreticalFullPath`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmCtf {
    /// `CTF.CTFid` (ESRF-style) or `CTF.ctfId` (Diamond's).
    pub ctf_id: i64,
    /// The motion correction it was estimated on.
    pub motion_correction_id: Option<i64>,
    /// The processing run (Diamond's schema).
    pub auto_proc_program_id: Option<i64>,
    /// Defocus U, Å (ESRF-style schema).
    pub defocus_u: Option<f64>,
    /// Defocus V, Å (ESRF-style schema).
    pub defocus_v: Option<f64>,
    /// Estimated defocus, Å.
    pub estimated_defocus: Option<f64>,
    /// Astigmatism, Å.
    pub astigmatism: Option<f64>,
    /// Astigmatism angle, degrees.
    pub astigmatism_angle: Option<f64>,
    /// Estimated resolution, Å.
    pub resolution: Option<f64>,
    /// Cross-correlation coefficient of the fit.
    pub cross_correlation_coefficient: Option<f64>,
    /// Estimated B-factor (ESRF-style schema).
    pub estimated_bfactor: Option<f64>,
    /// Box size X (Diamond's schema).
    pub box_size_x: Option<f64>,
    /// Box size Y (Diamond's schema).
    pub box_size_y: Option<f64>,
    /// Lowest resolution searched (Diamond's schema).
    pub min_resolution: Option<f64>,
    /// Highest resolution searched (Diamond's schema).
    pub max_resolution: Option<f64>,
    /// Lowest defocus searched (Diamond's schema).
    pub min_defocus: Option<f64>,
    /// Highest defocus searched (Diamond's schema).
    pub max_defocus: Option<f64>,
    /// Defocus search step (Diamond's schema).
    pub defocus_step_size: Option<f64>,
    /// Amplitude contrast (Diamond's schema).
    pub amplitude_contrast: Option<f64>,
    /// Ice ring density (Diamond's schema).
    pub ice_ring_density: Option<f64>,
    /// Power spectrum thumbnail.
    pub spectra_image_thumbnail_full_path: Option<String>,
    /// Power spectrum (ESRF-style schema).
    pub spectra_image_full_path: Option<String>,
    /// Log file (ESRF-style schema).
    pub log_file_path: Option<String>,
    /// Comments (Diamond's schema).
    pub comments: Option<String>,
    /// When the row was written (ESRF-style schema).
    #[schema(value_type = Option<String>)]
    pub created_time_stamp: DateTime,
}

impl EmCtf {
    fn from_row(row: &MySqlRow, p: &str) -> Option<Self> {
        let c = |k: &str| format!("{p}_{k}");
        let defocus_u = number(row, c("defocusU").as_str());
        let defocus_v = number(row, c("defocusV").as_str());
        let (mean, diff) = match (defocus_u, defocus_v) {
            (Some(u), Some(v)) => (Some((u + v) / 2.0), Some((u - v).abs())),
            _ => (None, None),
        };
        Some(Self {
            ctf_id: integer(row, c("ctfId").as_str())?,
            motion_correction_id: integer(row, c("motionCorrectionId").as_str()),
            auto_proc_program_id: integer(row, c("autoProcProgramId").as_str()),
            defocus_u,
            defocus_v,
            estimated_defocus: number(row, c("estimatedDefocus").as_str()).or(mean),
            astigmatism: number(row, c("astigmatism").as_str()).or(diff),
            astigmatism_angle: number(row, c("astigmatismAngle").as_str()),
            resolution: number(row, c("resolution").as_str()),
            cross_correlation_coefficient: number(row, c("crossCorrelationCoefficient").as_str()),
            estimated_bfactor: number(row, c("estimatedBfactor").as_str()),
            box_size_x: number(row, c("boxSizeX").as_str()),
            box_size_y: number(row, c("boxSizeY").as_str()),
            min_resolution: number(row, c("minResolution").as_str()),
            max_resolution: number(row, c("maxResolution").as_str()),
            min_defocus: number(row, c("minDefocus").as_str()),
            max_defocus: number(row, c("maxDefocus").as_str()),
            defocus_step_size: number(row, c("defocusStepSize").as_str()),
            amplitude_contrast: number(row, c("amplitudeContrast").as_str()),
            ice_ring_density: number(row, c("iceRingDensity").as_str()),
            spectra_image_thumbnail_full_path: text(row, c("spectraImageThumbnailFullPath").as_str()),
            spectra_image_full_path: text(row, c("spectraImageFullPath").as_str()),
            log_file_path: text(row, c("logFilePath").as_str()),
            comments: text(row, c("comments").as_str()),
            created_time_stamp: datetime(row, c("createdTimeStamp").as_str()),
        })
    }
}

/// Relative ice thickness of a motion-corrected micrograph (Diamond's schema): quartiles of
/// a unitless estimate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmIceThickness {
    /// `RelativeIceThickness.relativeIceThicknessId`.
    pub relative_ice_thickness_id: i64,
    /// The motion correction.
    pub motion_correction_id: Option<i64>,
    /// The processing run.
    pub auto_proc_program_id: Option<i64>,
    /// Minimum.
    pub minimum: Option<f64>,
    /// First quartile.
    pub q1: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// Third quartile.
    pub q3: Option<f64>,
    /// Maximum.
    pub maximum: Option<f64>,
}

impl EmIceThickness {
    fn from_row(row: &MySqlRow, p: &str) -> Option<Self> {
        let c = |k: &str| format!("{p}_{k}");
        Some(Self {
            relative_ice_thickness_id: integer(row, c("relativeIceThicknessId").as_str())?,
            motion_correction_id: integer(row, c("motionCorrectionId").as_str()),
            auto_proc_program_id: integer(row, c("autoProcProgramId").as_str()),
            minimum: number(row, c("minimum").as_str()),
            q1: number(row, c("q1").as_str()),
            median: number(row, c("median").as_str()),
            q3: number(row, c("q3").as_str()),
            maximum: number(row, c("maximum").as_str()),
        })
    }
}

/// A movie with its latest motion correction, CTF and ice thickness, and the particles picked
/// on it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct EmMovieRow {
    /// The movie.
    #[serde(rename = "Movie")]
    pub movie: EmMovie,
    /// Its latest motion correction.
    #[serde(rename = "MotionCorrection")]
    pub motion_correction: Option<EmMotionCorrection>,
    /// The latest CTF estimation of that motion correction.
    #[serde(rename = "CTF")]
    pub ctf: Option<EmCtf>,
    /// The latest ice thickness of that motion correction (Diamond's schema).
    #[serde(rename = "RelativeIceThickness")]
    pub ice_thickness: Option<EmIceThickness>,
    /// Particles of the latest picking on that motion correction.
    #[serde(rename = "numberOfParticles")]
    pub number_of_particles: Option<i64>,
}

impl EmMovieRow {
    fn from_row(row: &MySqlRow) -> Option<Self> {
        Some(Self {
            movie: EmMovie::from_row(row, "m")?,
            motion_correction: EmMotionCorrection::from_row(row, "mc"),
            ctf: EmCtf::from_row(row, "c"),
            ice_thickness: EmIceThickness::from_row(row, "r"),
            number_of_particles: integer(row, "numberOfParticles"),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Scopes, cursors and filters

/// Which movies a read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One data collection (an ESRF grid square).
    DataCollection(u32),
    /// Every data collection of a group (an ESRF grid).
    Group(u32),
    /// Every data collection of a session.
    Session(u32),
}

impl Scope {
    fn push(self, q: &mut QueryBuilder<MySql>) {
        match self {
            Scope::DataCollection(id) => q.push(" AND m.dataCollectionId = ").push_bind(id),
            Scope::Group(id) => q.push(" AND dc.dataCollectionGroupId = ").push_bind(id),
            Scope::Session(id) => q.push(" AND g.sessionId = ").push_bind(id),
        };
    }
}

/// Where a polling client left off: the highest movie, (latest) motion correction and CTF ids
/// it has seen. Written `M-C-F` (`123-456-789`); a bare `M` asks for movies after `M` only.
/// Movies that are new, or whose latest motion correction or CTF is, come after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    /// Highest movie id seen.
    pub movie: u64,
    /// Highest motion correction id seen (`None`: not part of the cursor).
    pub motion_correction: Option<u64>,
    /// Highest CTF id seen.
    pub ctf: Option<u64>,
}

impl Cursor {
    /// Parses `M-C-F` or `M`.
    pub fn parse(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let n =
            |p: &str| if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) { p.parse::<u64>().ok() } else { None };
        match parts.as_slice() {
            [m] => Some(Self { movie: n(m)?, motion_correction: None, ctf: None }),
            [m, mc, c] => Some(Self { movie: n(m)?, motion_correction: Some(n(mc)?), ctf: Some(n(c)?) }),
            _ => None,
        }
    }

    fn push(&self, q: &mut QueryBuilder<MySql>, flavour: Flavour) {
        q.push(" AND (m.movieId > ").push_bind(self.movie);
        if let Some(mc) = self.motion_correction {
            q.push(" OR mc.motionCorrectionId > ").push_bind(mc);
        }
        if let Some(c) = self.ctf {
            q.push(format_args!(" OR c.{} > ", ctf_id(flavour))).push_bind(c);
        }
        q.push(")");
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.movie, self.motion_correction.unwrap_or(0), self.ctf.unwrap_or(0))
    }
}

/// Order of a movie list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MovieSort {
    /// By movie number (then id), the default.
    #[default]
    MovieNumber,
    /// By acquisition time (then id).
    Time,
    /// By id (insertion order).
    Id,
}

/// Filters of a movie read.
#[derive(Debug, Clone, Default)]
pub struct MovieFilter {
    /// Only movies whose latest CTF resolution is at most this (Å).
    pub max_resolution: Option<f64>,
    /// Only movies whose latest total motion is at most this (Å).
    pub max_motion: Option<f64>,
    /// Only movies new or changed after this cursor.
    pub since: Option<Cursor>,
}

impl MovieFilter {
    fn needs_results(&self) -> bool {
        self.max_resolution.is_some() || self.max_motion.is_some() || self.since.is_some()
    }

    fn push(&self, q: &mut QueryBuilder<MySql>, flavour: Flavour) {
        if let Some(r) = self.max_resolution {
            let col = match flavour {
                Flavour::Ispyb => "c.resolutionLimit",
                Flavour::Dls => "c.estimatedResolution",
            };
            q.push(format_args!(" AND {} <= ", sql_number(col, flavour))).push_bind(r);
        }
        if let Some(m) = self.max_motion {
            q.push(format_args!(" AND {} <= ", sql_number("mc.totalMotion", flavour))).push_bind(m);
        }
        if let Some(c) = &self.since {
            c.push(q, flavour);
        }
    }
}

/// Movie → data collection → group → session.
const FROM_MOVIE: &str = " FROM Movie m JOIN DataCollection dc ON dc.dataCollectionId = m.dataCollectionId \
     JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId \
     JOIN BLSession s ON s.sessionId = g.sessionId";

/// The latest motion correction `mc` and CTF `c` of each movie `m` (and ice thickness `r`).
fn latest_joins(flavour: Flavour, ice: bool) -> String {
    let id = ctf_id(flavour);
    let mut s = format!(
        " LEFT JOIN MotionCorrection mc ON mc.motionCorrectionId = \
           (SELECT MAX(mc2.motionCorrectionId) FROM MotionCorrection mc2 WHERE mc2.movieId = m.movieId) \
         LEFT JOIN CTF c ON c.{id} = (SELECT MAX(c2.{id}) FROM CTF c2 WHERE c2.motionCorrectionId = mc.motionCorrectionId)"
    );
    if ice && has_ice_thickness(flavour) {
        s.push_str(
            " LEFT JOIN RelativeIceThickness r ON r.relativeIceThicknessId = \
               (SELECT MAX(r2.relativeIceThicknessId) FROM RelativeIceThickness r2 WHERE r2.motionCorrectionId = mc.motionCorrectionId)",
        );
    }
    s
}

fn where_scope(q: &mut QueryBuilder<MySql>, access: &Access, scope: Scope) {
    where_any(q, access, Some(scope));
}

/// ` WHERE` the scope (every visible movie without one) and the caller's filter.
fn where_any(q: &mut QueryBuilder<MySql>, access: &Access, scope: Option<Scope>) {
    q.push(" WHERE 1");
    match scope {
        Some(scope) => scope.push(q),
        // Callers who see only their own sessions: start from those.
        None => access.push_session_candidates(q, "s.sessionId"),
    }
    access.push_filter(q, "s.proposalId", "s");
}

/// Whether the caller may see the session, group or data collection (404 otherwise).
pub async fn scope_visible(db: &Db, access: &Access, scope: Scope) -> crate::Result<bool> {
    let mut q = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM BLSession s");
    match scope {
        Scope::Session(id) => {
            q.push(" WHERE s.sessionId = ").push_bind(id);
        }
        Scope::Group(id) => {
            q.push(" JOIN DataCollectionGroup g ON g.sessionId = s.sessionId WHERE g.dataCollectionGroupId = ")
                .push_bind(id);
        }
        Scope::DataCollection(id) => {
            q.push(
                " JOIN DataCollectionGroup g ON g.sessionId = s.sessionId \
                 JOIN DataCollection dc ON dc.dataCollectionGroupId = g.dataCollectionGroupId WHERE dc.dataCollectionId = ",
            )
            .push_bind(id);
        }
    }
    access.push_filter(&mut q, "s.proposalId", "s");
    let n: i64 = q.build_query_scalar().fetch_one(db.pool()).await?;
    Ok(n > 0)
}

/// The cursor a client polling this scope should send next: the highest movie, motion
/// correction and CTF ids of the scope. Read before the rows, so that nothing written in
/// between is skipped (it may be sent twice).
pub async fn cursor(db: &Db, access: &Access, scope: Scope) -> crate::Result<Cursor> {
    let flavour = db.flavour();
    // The highest ids over every motion correction and CTF of the scope's movies: the latest
    // motion correction of a movie is its highest, so no latest CTF or motion correction
    // written later can be below these (a CTF of an older motion correction may move the CTF
    // id without being served: harmless).
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT MAX(m.movieId), MAX(mc.motionCorrectionId), MAX(c.{}){FROM_MOVIE} \
         LEFT JOIN MotionCorrection mc ON mc.movieId = m.movieId \
         LEFT JOIN CTF c ON c.motionCorrectionId = mc.motionCorrectionId",
        ctf_id(flavour),
    ));
    where_scope(&mut q, access, scope);
    let row = q.build().fetch_one(db.pool()).await?;
    let get = |i: usize| integer(&row, i).map(|v| v as u64);
    Ok(Cursor {
        movie: get(0).unwrap_or(0),
        motion_correction: Some(get(1).unwrap_or(0)),
        ctf: Some(get(2).unwrap_or(0)),
    })
}

/// A page of movies and where to poll from next.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct EmMoviePage {
    /// Movies matching the filters (exact up to `skip + limit + 1000`, a lower bound beyond).
    pub total: u64,
    /// The movies of this page.
    pub results: Vec<EmMovieRow>,
    /// Echo of `skip`.
    pub skip: u64,
    /// Echo of `limit`.
    pub limit: u64,
    /// Send as `since` to get only the movies that are new or changed afterwards (null for a
    /// list without a data collection, group or session).
    pub cursor: Option<String>,
}

fn order_by(sort: MovieSort, desc: bool) -> String {
    let d = if desc { " DESC" } else { "" };
    match sort {
        MovieSort::MovieNumber => format!(" ORDER BY m.movieNumber{d}, m.movieId{d}"),
        MovieSort::Time => format!(" ORDER BY m.createdTimeStamp{d}, m.movieId{d}"),
        MovieSort::Id => format!(" ORDER BY m.movieId{d}"),
    }
}

/// The full select list of a movie row.
fn movie_row_select(flavour: Flavour) -> String {
    let ice = if has_ice_thickness(flavour) { select(ICE, "r", flavour) } else { select(ICE, "r", Flavour::Ispyb) };
    format!(
        "{}, {}, {}, {ice}, (SELECT pp.numberOfParticles FROM ParticlePicker pp \
           WHERE pp.firstMotionCorrectionId = mc.motionCorrectionId ORDER BY pp.particlePickerId DESC LIMIT 1) AS numberOfParticles",
        select(MOVIE, "m", flavour),
        select(MOTION, "mc", flavour),
        select(CTF, "c", flavour),
    )
}

/// Movies of a scope (or, without one, every movie) the caller may see with their latest
/// results: a bounded count, the scope's cursor and the page (three statements).
pub async fn movies(
    db: &Db,
    access: &Access,
    scope: Option<Scope>,
    filter: &MovieFilter,
    sort: (MovieSort, bool),
    page: Page,
) -> crate::Result<EmMoviePage> {
    let flavour = db.flavour();
    let joins = if filter.needs_results() { latest_joins(flavour, false) } else { String::new() };
    let mut count = crate::access::count_query();
    count.push(FROM_MOVIE).push(&joins);
    where_any(&mut count, access, scope);
    filter.push(&mut count, flavour);
    let total = crate::access::bounded_count(db, count, page).await?;
    let cursor = match scope {
        Some(scope) => Some(cursor(db, access, scope).await?.to_string()),
        None => None,
    };
    let results = movie_rows(db, access, scope, filter, sort, Some(page)).await?;
    Ok(EmMoviePage { total, results, skip: page.skip, limit: page.limit, cursor })
}

/// The rows of a movie read: the page's movie ids chosen first (joining results only when a
/// filter needs them), then the rows with their latest results. `None` reads every row.
pub async fn movie_rows(
    db: &Db,
    access: &Access,
    scope: Option<Scope>,
    filter: &MovieFilter,
    (sort, desc): (MovieSort, bool),
    page: Option<Page>,
) -> crate::Result<Vec<EmMovieRow>> {
    let flavour = db.flavour();
    let joins = if filter.needs_results() { latest_joins(flavour, false) } else { String::new() };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM (SELECT m.movieId, m.movieNumber, m.createdTimeStamp{FROM_MOVIE}{joins}",
        movie_row_select(flavour)
    ));
    where_any(&mut q, access, scope);
    filter.push(&mut q, flavour);
    q.push(order_by(sort, desc));
    if let Some(page) = page {
        q.push(" LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    }
    q.push(format_args!(") page JOIN Movie m ON m.movieId = page.movieId{}", latest_joins(flavour, true)));
    q.push(order_by(sort, desc));
    let rows = q.build().fetch_all(db.pool()).await?;
    Ok(rows.iter().filter_map(EmMovieRow::from_row).collect())
}

// ---------------------------------------------------------------------------------------
// One movie

/// One movie with every derived row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmMovieDetail {
    /// The movie.
    #[serde(rename = "Movie")]
    pub movie: EmMovie,
    /// Its data collection group (grid).
    pub data_collection_group_id: Option<i64>,
    /// Its session.
    pub session_id: Option<i64>,
    /// Its proposal.
    pub proposal_id: Option<i64>,
    /// Id of the latest motion correction.
    pub latest_motion_correction_id: Option<i64>,
    /// Id of the latest CTF estimation of the latest motion correction.
    pub latest_ctf_id: Option<i64>,
    /// Every motion correction, oldest first.
    pub motion_corrections: Vec<EmMotionCorrection>,
    /// Every CTF estimation of those, oldest first.
    pub ctfs: Vec<EmCtf>,
    /// Every ice thickness estimation (Diamond's schema; empty elsewhere).
    pub ice_thickness: Vec<EmIceThickness>,
    /// Every particle picking on those motion corrections.
    pub particle_pickers: Vec<models::ParticlePicker>,
}

/// One visible movie with every motion correction, CTF, ice thickness and particle picking
/// (five statements at most).
pub async fn movie(db: &Db, access: &Access, movie_id: u32) -> crate::Result<Option<EmMovieDetail>> {
    let flavour = db.flavour();
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, g.dataCollectionGroupId AS groupId, s.sessionId AS sessionId, s.proposalId AS proposalId{FROM_MOVIE} WHERE m.movieId = ",
        select(MOVIE, "m", flavour)
    ));
    q.push_bind(movie_id);
    access.push_filter(&mut q, "s.proposalId", "s");
    let Some(row) = q.build().fetch_optional(db.pool()).await? else { return Ok(None) };
    let Some(movie) = EmMovie::from_row(&row, "m") else { return Ok(None) };

    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM MotionCorrection mc WHERE mc.movieId = ",
        select(MOTION, "mc", flavour)
    ));
    q.push_bind(movie_id).push(" ORDER BY mc.motionCorrectionId");
    let motion_corrections: Vec<EmMotionCorrection> =
        q.build().fetch_all(db.pool()).await?.iter().filter_map(|r| EmMotionCorrection::from_row(r, "mc")).collect();
    let mc_ids: Vec<u32> = motion_corrections.iter().map(|m| m.motion_correction_id as u32).collect();

    let (mut ctfs, mut ice_thickness, mut particle_pickers) = (Vec::new(), Vec::new(), Vec::new());
    if !mc_ids.is_empty() {
        let id = ctf_id(flavour);
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM CTF c WHERE c.motionCorrectionId IN (",
            select(CTF, "c", flavour)
        ));
        push_ids(&mut q, &mc_ids);
        q.push(format_args!(") ORDER BY c.{id}"));
        ctfs = q.build().fetch_all(db.pool()).await?.iter().filter_map(|r| EmCtf::from_row(r, "c")).collect();
        if has_ice_thickness(flavour) {
            let mut q = QueryBuilder::<MySql>::new(format!(
                "SELECT {} FROM RelativeIceThickness r WHERE r.motionCorrectionId IN (",
                select(ICE, "r", flavour)
            ));
            push_ids(&mut q, &mc_ids);
            q.push(") ORDER BY r.relativeIceThicknessId");
            ice_thickness =
                q.build().fetch_all(db.pool()).await?.iter().filter_map(|r| EmIceThickness::from_row(r, "r")).collect();
        }
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM ParticlePicker pp WHERE pp.firstMotionCorrectionId IN (",
            <models::ParticlePicker as Table>::meta().select("pp", flavour)
        ));
        push_ids(&mut q, &mc_ids);
        q.push(") ORDER BY pp.particlePickerId");
        particle_pickers = q.build_query_as().fetch_all(db.pool()).await?;
    }
    let latest_mc = motion_corrections.last().map(|m| m.motion_correction_id);
    let latest_ctf = ctfs.iter().filter(|c| c.motion_correction_id == latest_mc).map(|c| c.ctf_id).max();
    Ok(Some(EmMovieDetail {
        movie,
        data_collection_group_id: integer(&row, "groupId"),
        session_id: integer(&row, "sessionId"),
        proposal_id: integer(&row, "proposalId"),
        latest_motion_correction_id: latest_mc,
        latest_ctf_id: latest_ctf,
        motion_corrections,
        ctfs,
        ice_thickness,
        particle_pickers,
    }))
}

// ---------------------------------------------------------------------------------------
// Files

/// A file of a movie, read from its row or its latest results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovieFile {
    /// `Movie.micrographSnapshotFullPath` (ESRF-style schema).
    Thumbnail,
    /// The latest motion correction's `micrographSnapshotFullPath`.
    Micrograph,
    /// The latest CTF's power spectrum thumbnail (`spectraImageThumbnailFullPath`, or
    /// Diamond's `fftTheoreticalFullPath`).
    CtfSpectrum,
    /// The latest motion correction's `driftPlotFullPath`.
    Drift,
    /// The latest motion correction's `fftFullPath` (Diamond's schema).
    Fft,
    /// The latest motion correction's `fftCorrectedFullPath` (Diamond's schema).
    FftCorrected,
}

impl MovieFile {
    fn expr(self, flavour: Flavour) -> &'static str {
        match (self, flavour) {
            (MovieFile::Thumbnail, Flavour::Ispyb) => "m.micrographSnapshotFullPath",
            (MovieFile::Micrograph, _) => "mc.micrographSnapshotFullPath",
            (MovieFile::CtfSpectrum, Flavour::Ispyb) => "c.spectraImageThumbnailFullPath",
            (MovieFile::CtfSpectrum, Flavour::Dls) => "c.fftTheoreticalFullPath",
            (MovieFile::Drift, _) => "mc.driftPlotFullPath",
            (MovieFile::Fft, Flavour::Dls) => "mc.fftFullPath",
            (MovieFile::FftCorrected, Flavour::Dls) => "mc.fftCorrectedFullPath",
            _ => "NULL",
        }
    }
}

/// Starts `SELECT <path> FROM Movie … WHERE m.movieId = ?` with the latest results joined;
/// the caller appends its restriction.
pub(crate) fn movie_file_query(flavour: Flavour, file: MovieFile, movie_id: u32) -> QueryBuilder<MySql> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}{FROM_MOVIE}{} WHERE m.movieId = ",
        file.expr(flavour),
        latest_joins(flavour, false)
    ));
    q.push_bind(movie_id);
    q
}

/// A file path of a visible movie: `None` when the movie is not visible, `Some(None)` when
/// it has no such file.
pub async fn movie_file(
    db: &Db,
    access: &Access,
    movie_id: u32,
    file: MovieFile,
) -> crate::Result<Option<Option<String>>> {
    let mut q = movie_file_query(db.flavour(), file, movie_id);
    access.push_filter(&mut q, "s.proposalId", "s");
    Ok(q.build_query_scalar::<Option<String>>().fetch_optional(db.pool()).await?)
}

/// The joins from a class `pc` to its session `s` (and data collection `dc`), per flavour: the
/// ESRF-style schema reaches the data collection through the picker's first motion correction
/// and its movie; Diamond's also through the group's processing job.
pub(crate) fn class_joins(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Ispyb => {
            " JOIN ParticleClassificationGroup pcg ON pcg.particleClassificationGroupId = pc.particleClassificationGroupId \
             JOIN ParticlePicker pp ON pp.particlePickerId = pcg.particlePickerId \
             JOIN MotionCorrection mc ON mc.motionCorrectionId = pp.firstMotionCorrectionId \
             JOIN Movie m ON m.movieId = mc.movieId \
             JOIN DataCollection dc ON dc.dataCollectionId = m.dataCollectionId \
             JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId \
             JOIN BLSession s ON s.sessionId = g.sessionId"
        }
        Flavour::Dls => {
            " JOIN ParticleClassificationGroup pcg ON pcg.particleClassificationGroupId = pc.particleClassificationGroupId \
             LEFT JOIN ParticlePicker pp ON pp.particlePickerId = pcg.particlePickerId \
             LEFT JOIN MotionCorrection mc ON mc.motionCorrectionId = pp.firstMotionCorrectionId \
             LEFT JOIN Movie m ON m.movieId = mc.movieId \
             LEFT JOIN AutoProcProgram app ON app.autoProcProgramId = pcg.programId \
             LEFT JOIN ProcessingJob pj ON pj.processingJobId = app.processingJobId \
             JOIN DataCollection dc ON dc.dataCollectionId = COALESCE(pj.dataCollectionId, mc.dataCollectionId, m.dataCollectionId) \
             JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId \
             JOIN BLSession s ON s.sessionId = g.sessionId"
        }
    }
}

/// The image of a visible class (`ParticleClassification.classImageFullPath`).
pub async fn class_image(db: &Db, access: &Access, class_id: u32) -> crate::Result<Option<Option<String>>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT pc.classImageFullPath FROM ParticleClassification pc{} WHERE pc.particleClassificationId = ",
        class_joins(db.flavour())
    ));
    q.push_bind(class_id);
    access.push_filter(&mut q, "s.proposalId", "s");
    q.push(" LIMIT 1");
    Ok(q.build_query_scalar::<Option<String>>().fetch_optional(db.pool()).await?)
}

// ---------------------------------------------------------------------------------------
// Session summary and counts

/// Progress of a data collection (grid square): its movies and how many have been processed.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmCounts {
    /// The data collection.
    pub data_collection_id: i64,
    /// Movies.
    pub movies: i64,
    /// Motion correction rows (a reprocessed movie counts each).
    pub motion_corrections: i64,
    /// CTF rows.
    pub ctfs: i64,
    /// Movies with at least one motion correction.
    pub movies_motion_corrected: i64,
    /// Movies whose latest motion correction has a CTF estimation.
    pub movies_ctf_estimated: i64,
    /// Time of the last movie.
    #[schema(value_type = Option<String>)]
    pub last_movie_time: DateTime,
}

/// Progress of the visible data collections among `ids`, in the order of `ids` (one
/// statement).
pub async fn counts(db: &Db, access: &Access, ids: &[u32]) -> crate::Result<Vec<EmCounts>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT dc.dataCollectionId,
           (SELECT COUNT(*) FROM Movie m WHERE m.dataCollectionId = dc.dataCollectionId) AS movies,
           (SELECT COUNT(*) FROM Movie m JOIN MotionCorrection mc ON mc.movieId = m.movieId
              WHERE m.dataCollectionId = dc.dataCollectionId) AS motionCorrections,
           (SELECT COUNT(*) FROM Movie m JOIN MotionCorrection mc ON mc.movieId = m.movieId
              JOIN CTF c ON c.motionCorrectionId = mc.motionCorrectionId WHERE m.dataCollectionId = dc.dataCollectionId) AS ctfs,
           (SELECT COUNT(*) FROM Movie m WHERE m.dataCollectionId = dc.dataCollectionId
              AND EXISTS (SELECT 1 FROM MotionCorrection mc WHERE mc.movieId = m.movieId)) AS moviesMotionCorrected,
           (SELECT COUNT(*) FROM Movie m WHERE m.dataCollectionId = dc.dataCollectionId
              AND EXISTS (SELECT 1 FROM CTF c WHERE c.motionCorrectionId =
                (SELECT MAX(mc.motionCorrectionId) FROM MotionCorrection mc WHERE mc.movieId = m.movieId))) AS moviesCtfEstimated,
           (SELECT MAX(m.createdTimeStamp) FROM Movie m WHERE m.dataCollectionId = dc.dataCollectionId) AS lastMovieTime
         FROM DataCollection dc JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN BLSession s ON s.sessionId = g.sessionId WHERE dc.dataCollectionId IN (",
    );
    push_ids(&mut q, ids);
    q.push(")");
    access.push_filter(&mut q, "s.proposalId", "s");
    let rows = q.build().fetch_all(db.pool()).await?;
    let mut by_id: HashMap<i64, EmCounts> = rows
        .iter()
        .filter_map(|r| {
            let id = integer(r, "dataCollectionId")?;
            Some((
                id,
                EmCounts {
                    data_collection_id: id,
                    movies: integer(r, "movies").unwrap_or(0),
                    motion_corrections: integer(r, "motionCorrections").unwrap_or(0),
                    ctfs: integer(r, "ctfs").unwrap_or(0),
                    movies_motion_corrected: integer(r, "moviesMotionCorrected").unwrap_or(0),
                    movies_ctf_estimated: integer(r, "moviesCtfEstimated").unwrap_or(0),
                    last_movie_time: datetime(r, "lastMovieTime"),
                },
            ))
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(&i64::from(*id))).collect())
}

/// A grid square (an ESRF data collection) of a session summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmGridSquare {
    /// The data collection.
    pub data_collection_id: i64,
    /// Movie directory.
    pub image_directory: Option<String>,
    /// Start of the acquisition.
    #[schema(value_type = Option<String>)]
    pub start_time: DateTime,
    /// End of the acquisition.
    #[schema(value_type = Option<String>)]
    pub end_time: DateTime,
    /// Acceleration voltage, kV.
    pub voltage: Option<f64>,
    /// Magnification.
    pub magnification: Option<f64>,
    /// Pixel size, Å (`xBeamPix` on the ESRF-style schema, `pixelSizeOnImage` on Diamond's).
    pub pixel_size: Option<f64>,
    /// Frames per movie on the ESRF-style schema (`numberOfImages`); images on Diamond's.
    pub number_of_images: Option<i64>,
    /// Grid square snapshot (`xtalSnapshotFullPath1`).
    pub snapshot_full_path: Option<String>,
    /// Progress.
    #[serde(flatten)]
    pub counts: EmCounts,
    /// Share of the movies with a motion correction (0 to 1; null without movies).
    pub motion_correction_progress: Option<f64>,
    /// Share of the movies with a CTF estimation.
    pub ctf_progress: Option<f64>,
}

/// A grid (an ESRF data collection group) of a session summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmGrid {
    /// The data collection group.
    pub data_collection_group_id: i64,
    /// `experimentType`.
    pub experiment_type: Option<String>,
    /// The sample.
    pub bl_sample_id: Option<i64>,
    /// Its name.
    pub sample_name: Option<String>,
    /// Start of the group.
    #[schema(value_type = Option<String>)]
    pub start_time: DateTime,
    /// End of the group.
    #[schema(value_type = Option<String>)]
    pub end_time: DateTime,
    /// Movies over its grid squares.
    pub movies: i64,
    /// Movies with a motion correction.
    pub movies_motion_corrected: i64,
    /// Movies with a CTF estimation.
    pub movies_ctf_estimated: i64,
    /// Time of the last movie.
    #[schema(value_type = Option<String>)]
    pub last_movie_time: DateTime,
    /// Its grid squares, oldest first.
    pub grid_squares: Vec<EmGridSquare>,
}

/// A cryo-EM session at a glance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmSessionSummary {
    /// The session.
    pub session_id: i64,
    /// Its proposal.
    pub proposal_id: Option<i64>,
    /// Proposal name (`MX1`).
    pub proposal: Option<String>,
    /// Session name (`MX1-3`).
    pub session: Option<String>,
    /// Beamline (microscope).
    pub beam_line_name: Option<String>,
    /// Start of the session.
    #[schema(value_type = Option<String>)]
    pub start_date: DateTime,
    /// End of the session.
    #[schema(value_type = Option<String>)]
    pub end_date: DateTime,
    /// Movies over every grid.
    pub movies: i64,
    /// Movies with a motion correction.
    pub movies_motion_corrected: i64,
    /// Movies with a CTF estimation.
    pub movies_ctf_estimated: i64,
    /// Time of the last movie.
    #[schema(value_type = Option<String>)]
    pub last_movie_time: DateTime,
    /// Grids (data collection groups with movies, or of an EM experiment type), oldest first.
    pub grids: Vec<EmGrid>,
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Experiment types of cryo-EM groups (both flavours).
const EM_TYPES: &[&str] = &["EM", "single particle", "tomo", "Tomography", "Atlas"];

/// Summary of a visible session (three statements): its grids and grid squares with their
/// progress.
pub async fn session_summary(db: &Db, access: &Access, session_id: u32) -> crate::Result<Option<EmSessionSummary>> {
    let flavour = db.flavour();
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT s.sessionId, s.proposalId, s.beamLineName, s.startDate, s.endDate,
           CONCAT(p.proposalCode, p.proposalNumber) AS proposal,
           CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number) AS session
         FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId WHERE s.sessionId = ",
    );
    q.push_bind(session_id);
    access.push_filter(&mut q, "s.proposalId", "s");
    let Some(srow) = q.build().fetch_optional(db.pool()).await? else { return Ok(None) };

    let pixel = match flavour {
        Flavour::Ispyb => "dc.xBeamPix",
        Flavour::Dls => "dc.pixelSizeOnImage",
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT g.dataCollectionGroupId, g.experimentType, g.blSampleId, smp.name AS sampleName,
           g.startTime AS groupStart, g.endTime AS groupEnd,
           dc.dataCollectionId, dc.imageDirectory, dc.startTime, dc.endTime, dc.voltage, dc.magnification,
           {pixel} AS pixelSize, dc.numberOfImages, dc.xtalSnapshotFullPath1,
           EXISTS (SELECT 1 FROM Movie m WHERE m.dataCollectionId = dc.dataCollectionId) AS hasMovies
         FROM DataCollectionGroup g JOIN DataCollection dc ON dc.dataCollectionGroupId = g.dataCollectionGroupId
         LEFT JOIN BLSample smp ON smp.blSampleId = g.blSampleId
         WHERE g.sessionId = "
    ));
    q.push_bind(session_id);
    q.push(" ORDER BY g.startTime, g.dataCollectionGroupId, dc.startTime, dc.dataCollectionId");
    let rows = q.build().fetch_all(db.pool()).await?;
    let em_type = |t: &Option<String>| t.as_deref().is_some_and(|t| EM_TYPES.iter().any(|e| e.eq_ignore_ascii_case(t)));
    let rows: Vec<&MySqlRow> = rows
        .iter()
        .filter(|r| integer(r, "hasMovies").unwrap_or(0) > 0 || em_type(&text(r, "experimentType")))
        .collect();
    let dc_ids: Vec<u32> = rows.iter().filter_map(|r| integer(r, "dataCollectionId")).map(|i| i as u32).collect();
    let counts: HashMap<i64, EmCounts> =
        counts(db, access, &dc_ids).await?.into_iter().map(|c| (c.data_collection_id, c)).collect();

    let mut grids: Vec<EmGrid> = Vec::new();
    for r in rows {
        let group_id = integer(r, "dataCollectionGroupId").unwrap_or(0);
        let dc_id = integer(r, "dataCollectionId").unwrap_or(0);
        let c = counts.get(&dc_id).cloned().unwrap_or(EmCounts { data_collection_id: dc_id, ..Default::default() });
        let square = EmGridSquare {
            data_collection_id: dc_id,
            image_directory: text(r, "imageDirectory"),
            start_time: datetime(r, "startTime"),
            end_time: datetime(r, "endTime"),
            voltage: number(r, "voltage"),
            magnification: number(r, "magnification"),
            pixel_size: number(r, "pixelSize"),
            number_of_images: integer(r, "numberOfImages"),
            snapshot_full_path: text(r, "xtalSnapshotFullPath1"),
            motion_correction_progress: share(c.movies_motion_corrected, c.movies),
            ctf_progress: share(c.movies_ctf_estimated, c.movies),
            counts: c,
        };
        if grids.last().is_none_or(|g| g.data_collection_group_id != group_id) {
            grids.push(EmGrid {
                data_collection_group_id: group_id,
                experiment_type: text(r, "experimentType"),
                bl_sample_id: integer(r, "blSampleId"),
                sample_name: text(r, "sampleName"),
                start_time: datetime(r, "groupStart"),
                end_time: datetime(r, "groupEnd"),
                movies: 0,
                movies_motion_corrected: 0,
                movies_ctf_estimated: 0,
                last_movie_time: DateTime(None),
                grid_squares: Vec::new(),
            });
        }
        if let Some(g) = grids.last_mut() {
            g.movies += square.counts.movies;
            g.movies_motion_corrected += square.counts.movies_motion_corrected;
            g.movies_ctf_estimated += square.counts.movies_ctf_estimated;
            g.last_movie_time = g.last_movie_time.max(square.counts.last_movie_time);
            g.grid_squares.push(square);
        }
    }
    Ok(Some(EmSessionSummary {
        session_id: integer(&srow, "sessionId").unwrap_or(i64::from(session_id)),
        proposal_id: integer(&srow, "proposalId"),
        proposal: text(&srow, "proposal"),
        session: text(&srow, "session"),
        beam_line_name: text(&srow, "beamLineName"),
        start_date: datetime(&srow, "startDate"),
        end_date: datetime(&srow, "endDate"),
        movies: grids.iter().map(|g| g.movies).sum(),
        movies_motion_corrected: grids.iter().map(|g| g.movies_motion_corrected).sum(),
        movies_ctf_estimated: grids.iter().map(|g| g.movies_ctf_estimated).sum(),
        last_movie_time: grids.iter().map(|g| g.last_movie_time).max().unwrap_or_default(),
        grids,
    }))
}

// ---------------------------------------------------------------------------------------
// Per-movie numbers: series, statistics, histograms

/// The numbers of one movie that series, statistics and histograms use (latest results).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MovieNumbers {
    /// `Movie.movieId`.
    pub movie_id: i64,
    /// Its data collection.
    pub data_collection_id: Option<i64>,
    /// Its number.
    pub movie_number: Option<i64>,
    /// When it was written.
    pub created: DateTime,
    /// Whether it has a motion correction.
    pub motion_corrected: bool,
    /// Whether its latest motion correction has a CTF.
    pub ctf_estimated: bool,
    /// Values by field name ([`FIELDS`]).
    pub values: [Option<f64>; FIELDS.len()],
}

/// The per-movie quantities, by name: what `fields=` and `field=` accept.
pub const FIELDS: [&str; 11] = [
    "totalMotion",
    "averageMotionPerFrame",
    "defocusU",
    "defocusV",
    "defocus",
    "astigmatism",
    "astigmatismAngle",
    "resolution",
    "crossCorrelationCoefficient",
    "estimatedBfactor",
    "iceThickness",
];

/// Index of a field in [`FIELDS`].
pub fn field_index(name: &str) -> Option<usize> {
    FIELDS.iter().position(|f| *f == name)
}

impl MovieNumbers {
    /// A value by field name.
    pub fn get(&self, field: &str) -> Option<f64> {
        field_index(field).and_then(|i| self.values[i])
    }
}

/// The numbers of every movie of a visible scope (filtered), in acquisition order (by movie
/// number within a data collection, by time otherwise): one statement.
pub async fn numbers(db: &Db, access: &Access, scope: Scope, filter: &MovieFilter) -> crate::Result<Vec<MovieNumbers>> {
    let flavour = db.flavour();
    // Only the columns the numbers come from, in the order of FIELDS.
    let values: [(&str, &str); FIELDS.len()] = [
        ("mc.totalMotion", "mc.totalMotion"),
        ("mc.averageMotionPerFrame", "mc.averageMotionPerFrame"),
        ("c.defocusU", "NULL"),
        ("c.defocusV", "NULL"),
        ("NULL", "c.estimatedDefocus"),
        ("NULL", "c.astigmatism"),
        ("c.angle", "c.astigmatismAngle"),
        ("c.resolutionLimit", "c.estimatedResolution"),
        ("c.crossCorrelationCoefficient", "c.ccValue"),
        ("c.estimatedBfactor", "NULL"),
        ("NULL", if has_ice_thickness(flavour) { "r.median" } else { "NULL" }),
    ];
    let list: Vec<&str> = values
        .iter()
        .map(|(ispyb, dls)| match flavour {
            Flavour::Ispyb => *ispyb,
            Flavour::Dls => *dls,
        })
        .collect();
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT m.movieId, m.dataCollectionId, m.movieNumber, m.createdTimeStamp, mc.motionCorrectionId, c.{}, {}{FROM_MOVIE}{}",
        ctf_id(flavour),
        list.join(", "),
        latest_joins(flavour, true)
    ));
    where_scope(&mut q, access, scope);
    filter.push(&mut q, flavour);
    q.push(match scope {
        Scope::DataCollection(_) => order_by(MovieSort::MovieNumber, false),
        _ => order_by(MovieSort::Time, false),
    });
    let rows = q.build().fetch_all(db.pool()).await?;
    const FIRST: usize = 6;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let mut values = [None; FIELDS.len()];
            for (i, v) in values.iter_mut().enumerate() {
                *v = number(r, FIRST + i);
            }
            // The ESRF-style schema's mean defocus and astigmatism, from U and V.
            if let (Some(u), Some(v)) = (values[2], values[3]) {
                values[4] = values[4].or(Some((u + v) / 2.0));
                values[5] = values[5].or(Some((u - v).abs()));
            }
            Some(MovieNumbers {
                movie_id: integer(r, 0)?,
                data_collection_id: integer(r, 1),
                movie_number: integer(r, 2),
                created: datetime(r, 3),
                motion_corrected: type_name(r, 4).is_some(),
                ctf_estimated: type_name(r, 5).is_some(),
                values,
            })
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Classification

/// Order of a class list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassSort {
    /// Most particles first.
    #[default]
    Particles,
    /// Best (lowest) resolution first.
    Resolution,
    /// By group, then class number.
    Class,
}

/// Filters of the class list.
#[derive(Debug, Clone, Default)]
pub struct ClassFilter {
    /// Classes of a session.
    pub session_id: Option<u32>,
    /// Classes of a data collection.
    pub data_collection_id: Option<u32>,
    /// Classes of a group (`ParticleClassificationGroup`).
    pub group_id: Option<u32>,
    /// `2D` or `3D`.
    pub kind: Option<String>,
    /// Only classes flagged `selected` (Diamond's schema; ignored elsewhere).
    pub selected_only: bool,
    /// Order.
    pub sort: ClassSort,
}

/// An initial model built from a class.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmInitialModel {
    /// `CryoemInitialModel.cryoemInitialModelId`.
    pub cryoem_initial_model_id: i64,
    /// Resolution, Å.
    pub resolution: Option<f64>,
    /// Particles.
    pub number_of_particles: Option<i64>,
}

/// A 2D or 3D class with its group, picker and initial models.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct EmClass {
    /// The class.
    #[serde(rename = "ParticleClassification")]
    pub class: models::ParticleClassification,
    /// `selected` (Diamond's schema).
    pub selected: Option<bool>,
    /// Its group (batch).
    #[serde(rename = "ParticleClassificationGroup")]
    pub group: models::ParticleClassificationGroup,
    /// The picking it classifies.
    #[serde(rename = "ParticlePicker")]
    pub picker: Option<models::ParticlePicker>,
    /// Initial models built from it.
    #[serde(rename = "CryoemInitialModel")]
    pub initial_models: Vec<EmInitialModel>,
    /// The data collection.
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: Option<i64>,
    /// The session.
    #[serde(rename = "sessionId")]
    pub session_id: Option<i64>,
}

fn push_class_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &ClassFilter, flavour: Flavour) {
    q.push(" WHERE 1");
    if let Some(id) = f.session_id {
        q.push(" AND g.sessionId = ").push_bind(id);
    }
    if let Some(id) = f.data_collection_id {
        q.push(" AND dc.dataCollectionId = ").push_bind(id);
    }
    if let Some(id) = f.group_id {
        q.push(" AND pcg.particleClassificationGroupId = ").push_bind(id);
    }
    if let Some(k) = &f.kind {
        q.push(" AND pcg.type = ").push_bind(k.clone());
    }
    if f.selected_only && flavour == Flavour::Dls {
        q.push(" AND pc.selected = 1");
    }
    access.push_filter(q, "s.proposalId", "s");
}

/// Classes the caller may see: a bounded count, the page, its initial models (three
/// statements).
pub async fn classes(
    db: &Db,
    access: &Access,
    filter: &ClassFilter,
    page: Page,
) -> crate::Result<crate::Paged<EmClass>> {
    let flavour = db.flavour();
    let joins = class_joins(flavour);
    let mut count = crate::access::count_query();
    count.push(format_args!(" FROM ParticleClassification pc{joins}"));
    push_class_where(&mut count, access, filter, flavour);
    let total = crate::access::bounded_count(db, count, page).await?;

    let selected = if flavour == Flavour::Dls { "pc.selected" } else { "NULL" };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, {}, {selected} AS selected, pp.particlePickerId AS pp_particlePickerId, pp.programId AS pp_programId,
           pp.firstMotionCorrectionId AS pp_firstMotionCorrectionId, pp.particlePickingTemplate AS pp_particlePickingTemplate,
           pp.particleDiameter AS pp_particleDiameter, pp.numberOfParticles AS pp_numberOfParticles,
           pp.summaryImageFullPath AS pp_summaryImageFullPath, dc.dataCollectionId AS dcId, g.sessionId AS sessionId
         FROM ParticleClassification pc{joins}",
        <models::ParticleClassification as Table>::meta().select("pc", flavour),
        prefixed(<models::ParticleClassificationGroup as Table>::meta(), "pcg", "g", flavour),
    ));
    push_class_where(&mut q, access, filter, flavour);
    q.push(match filter.sort {
        ClassSort::Particles => " ORDER BY pc.particlesPerClass DESC, pc.particleClassificationId",
        ClassSort::Resolution => {
            " ORDER BY pc.estimatedResolution IS NULL, pc.estimatedResolution, pc.particleClassificationId"
        }
        ClassSort::Class => " ORDER BY pcg.particleClassificationGroupId, pc.classNumber, pc.particleClassificationId",
    });
    q.push(" LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let rows = q.build().fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let class: models::ParticleClassification = sqlx::FromRow::from_row(r)?;
        let group = group_from_row(r);
        let picker = integer(r, "pp_particlePickerId").map(|id| models::ParticlePicker {
            particle_picker_id: id as u32,
            program_id: integer(r, "pp_programId").map(|v| v as u32),
            first_motion_correction_id: integer(r, "pp_firstMotionCorrectionId").map(Int),
            particle_picking_template: text(r, "pp_particlePickingTemplate"),
            particle_diameter: number(r, "pp_particleDiameter").map(|v| v as f32),
            number_of_particles: integer(r, "pp_numberOfParticles").map(|v| v as u32),
            summary_image_full_path: text(r, "pp_summaryImageFullPath"),
        });
        out.push(EmClass {
            class,
            selected: integer(r, "selected").map(|v| v != 0),
            group,
            picker,
            initial_models: Vec::new(),
            data_collection_id: integer(r, "dcId"),
            session_id: integer(r, "sessionId"),
        });
    }
    let ids: Vec<u32> = out.iter().map(|c| c.class.particle_classification_id).collect();
    if !ids.is_empty() {
        let mut q = QueryBuilder::<MySql>::new(
            "SELECT h.particleClassificationId, im.cryoemInitialModelId, im.resolution, im.numberOfParticles
             FROM ParticleClassification_has_CryoemInitialModel h
             JOIN CryoemInitialModel im ON im.cryoemInitialModelId = h.cryoemInitialModelId
             WHERE h.particleClassificationId IN (",
        );
        push_ids(&mut q, &ids);
        q.push(") ORDER BY im.cryoemInitialModelId");
        for r in q.build().fetch_all(db.pool()).await? {
            let (Some(class_id), Some(model_id)) =
                (integer(&r, "particleClassificationId"), integer(&r, "cryoemInitialModelId"))
            else {
                continue;
            };
            if let Some(c) = out.iter_mut().find(|c| i64::from(c.class.particle_classification_id) == class_id) {
                c.initial_models.push(EmInitialModel {
                    cryoem_initial_model_id: model_id,
                    resolution: number(&r, "resolution"),
                    number_of_particles: integer(&r, "numberOfParticles"),
                });
            }
        }
    }
    Ok(crate::Paged::new(out, total, page))
}

/// `alias.column AS `prefix_column`` for every column of the model the flavour has.
fn prefixed(table: &crate::meta::TableMeta, alias: &str, prefix: &str, flavour: Flavour) -> String {
    table
        .columns
        .iter()
        .filter(|c| c.type_in(flavour).is_some())
        .map(|c| format!("{alias}.`{0}` AS `{prefix}_{0}`", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn group_from_row(r: &MySqlRow) -> models::ParticleClassificationGroup {
    let u = |k: &str| integer(r, format!("g_{k}").as_str()).map(|v| v as u32);
    models::ParticleClassificationGroup {
        particle_classification_group_id: u("particleClassificationGroupId").unwrap_or(0),
        particle_picker_id: u("particlePickerId"),
        program_id: u("programId"),
        r#type: text(r, "g_type"),
        batch_number: u("batchNumber"),
        number_of_particles_per_batch: u("numberOfParticlesPerBatch"),
        number_of_classes_per_batch: u("numberOfClassesPerBatch"),
        symmetry: text(r, "g_symmetry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor::parse("12-34-56").unwrap();
        assert_eq!(c, Cursor { movie: 12, motion_correction: Some(34), ctf: Some(56) });
        assert_eq!(c.to_string(), "12-34-56");
        assert_eq!(Cursor::parse("7"), Some(Cursor { movie: 7, motion_correction: None, ctf: None }));
        for bad in ["", "a", "1-2", "1--3", "-1", "1.5", "1-2-3-4"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_parse_like_the_database() {
        assert_eq!(parse_number(" 1.5 "), Some(1.5));
        assert_eq!(parse_number("1.2e-3"), Some(0.0012));
        assert_eq!(parse_number("+.5"), Some(0.5));
        for bad in ["", "abc", "nan", "inf", "1,5", "1e", "--1"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn selects_name_missing_columns_null() {
        let s = select(CTF, "c", Flavour::Ispyb);
        assert!(s.contains("c.resolutionLimit AS `c_resolution`"), "{s}");
        assert!(s.contains("NULL AS `c_iceRingDensity`"), "{s}");
        let s = select(CTF, "c", Flavour::Dls);
        assert!(s.contains("c.estimatedResolution AS `c_resolution`"), "{s}");
        assert!(s.contains("NULL AS `c_defocusU`"), "{s}");
        assert!(sql_number("c.x", Flavour::Ispyb).contains("REGEXP"));
        assert_eq!(sql_number("c.x", Flavour::Dls), "c.x");
    }
}
