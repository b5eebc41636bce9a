//! Ingestion of cryo-EM results by acquisition and processing software (Java ISPyB did it over
//! SOAP, Diamond with stored procedures): movies, motion corrections and CTF estimations.
//!
//! Each request is one transaction that first locks the session row the movie belongs to
//! (`SELECT … FOR UPDATE`), so two requests for the same session run one after the other and
//! the "already there?" checks cannot race. A movie is identified by its full path: posting
//! it again returns the movie already there (nothing is written). A motion correction is
//! identified by its movie and `micrographFullPath`, a CTF estimation by its motion
//! correction and `spectraImageThumbnailFullPath`, when those are given: a retried request
//! returns the row it created the first time.
//!
//! Numbers are sent as JSON numbers (or numeric strings) and written in the flavour's type:
//! text on the ESRF-style schema, numbers on Diamond's.

use serde::{Deserialize, Deserializer};
use sqlx::{MySql, QueryBuilder, Transaction};

use crate::Db;
use crate::meta::Flavour;
use crate::write::{self, Changes, SqlValue};

/// A number sent as a JSON number or as a numeric string.
#[derive(Debug, Clone, Copy, PartialEq, utoipa::ToSchema)]
#[schema(value_type = f64)]
pub struct Num(pub f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(v) if v.is_finite() => Ok(Num(v)),
            Raw::S(s) => super::parse_number(&s).map(Num).ok_or_else(|| serde::de::Error::custom("expected a number")),
            Raw::N(_) => Err(serde::de::Error::custom("expected a finite number")),
        }
    }
}

/// A movie to record (Java ISPyB's `addMovie`). Give the data collection, or the session (by id,
/// or the proposal and beamline of a session running now) and the movie directory: the group
/// of the sample (`sampleAcronym`) and the data collection of the directory are found or
/// created.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMovie {
    /// Data collection (grid square) the movie belongs to.
    pub data_collection_id: Option<u32>,
    /// Session of the acquisition.
    pub session_id: Option<u32>,
    /// Proposal name (`MX1`), with `beamlineName`: the session running now.
    pub proposal: Option<String>,
    /// Beamline (microscope) name.
    pub beamline_name: Option<String>,
    /// Protein acronym (found in the proposal or created).
    pub protein_acronym: Option<String>,
    /// Sample (grid) name: the data collection group of the sample.
    pub sample_acronym: Option<String>,
    /// Movie directory: the data collection (grid square) with this `imageDirectory`.
    pub movie_directory: Option<String>,
    /// Full path of the movie; identifies it.
    pub movie_full_path: String,
    /// Number of the movie.
    pub movie_number: Option<u32>,
    /// Micrograph (ESRF-style schema).
    pub micrograph_full_path: Option<String>,
    /// Micrograph thumbnail (ESRF-style schema).
    pub micrograph_snapshot_full_path: Option<String>,
    /// Metadata XML (ESRF-style schema).
    pub xml_meta_data_full_path: Option<String>,
    /// Dose per image (ESRF-style schema).
    pub dose_per_image: Option<Num>,
    /// Stage position X.
    pub position_x: Option<Num>,
    /// Stage position Y.
    pub position_y: Option<Num>,
    /// Nominal defocus (Diamond's schema).
    pub nominal_defocus: Option<Num>,
    /// Tilt angle (Diamond's schema).
    pub angle: Option<Num>,
    /// Fluence (Diamond's schema).
    pub fluence: Option<Num>,
    /// Frames in the movie (Diamond's schema).
    pub number_of_frames: Option<u32>,
    /// Acquisition time of the movie (`createdTimeStamp`; default now).
    #[schema(value_type = Option<String>, example = "2024-05-01T09:30:00")]
    pub start_time: Option<chrono::NaiveDateTime>,
    /// Voltage, kV (for a new data collection).
    pub voltage: Option<Num>,
    /// Magnification (for a new data collection).
    pub magnification: Option<Num>,
    /// Pixel size, Å (for a new data collection: `xBeamPix` / `pixelSizeOnImage`).
    pub scanned_pixel_size: Option<Num>,
    /// Frames per movie (for a new data collection: `numberOfImages`).
    pub images_count: Option<u32>,
    /// Grid square snapshot (for a new data collection: `xtalSnapshotFullPath1`).
    pub grid_square_snapshot_full_path: Option<String>,
}

/// A motion correction to record (Java ISPyB's `addMotionCorrection`), for a movie given by id
/// or full path.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMotionCorrection {
    /// The movie.
    pub movie_id: Option<u32>,
    /// The movie, by full path.
    pub movie_full_path: Option<String>,
    /// Processing run (Diamond's schema).
    pub auto_proc_program_id: Option<u32>,
    /// Image number in the run (Diamond's schema).
    pub image_number: Option<u32>,
    /// First frame.
    pub first_frame: Option<u32>,
    /// Last frame.
    pub last_frame: Option<u32>,
    /// Dose per frame.
    pub dose_per_frame: Option<Num>,
    /// Dose weight.
    pub dose_weight: Option<Num>,
    /// Total motion, Å.
    pub total_motion: Option<Num>,
    /// Average motion per frame, Å.
    pub average_motion_per_frame: Option<Num>,
    /// Drift plot.
    pub drift_plot_full_path: Option<String>,
    /// Corrected micrograph; with the movie, identifies the row.
    pub micrograph_full_path: Option<String>,
    /// Its thumbnail.
    pub micrograph_snapshot_full_path: Option<String>,
    /// Dose-weighted micrograph (ESRF-style schema).
    pub corrected_dose_micrograph_full_path: Option<String>,
    /// Patches used (ESRF-style schema).
    pub patches_used: Option<String>,
    /// Patches in X (Diamond's schema).
    pub patches_used_x: Option<u32>,
    /// Patches in Y (Diamond's schema).
    pub patches_used_y: Option<u32>,
    /// Log file (ESRF-style schema).
    pub log_file_full_path: Option<String>,
    /// FFT (Diamond's schema).
    pub fft_full_path: Option<String>,
    /// FFT of the corrected micrograph (Diamond's schema).
    pub fft_corrected_full_path: Option<String>,
    /// Comments (Diamond's schema).
    pub comments: Option<String>,
}

/// A CTF estimation to record (Java ISPyB's `addCTF`), for a motion correction given by id, or
/// the latest one of a movie given by full path. ESRF-style (`defocusU`, `defocusV`, `angle`,
/// `resolutionLimit`, `crossCorrelationCoefficient`) and Diamond's names (`estimatedDefocus`,
/// `astigmatism`, `astigmatismAngle`, `estimatedResolution`, `ccValue`) are both accepted and
/// mapped onto the flavour's columns.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCtf {
    /// The motion correction.
    pub motion_correction_id: Option<u32>,
    /// The movie, by full path (its latest motion correction).
    pub movie_full_path: Option<String>,
    /// Processing run (Diamond's schema).
    pub auto_proc_program_id: Option<u32>,
    /// Power spectrum thumbnail; with the motion correction, identifies the row.
    pub spectra_image_thumbnail_full_path: Option<String>,
    /// Power spectrum (ESRF-style schema).
    pub spectra_image_full_path: Option<String>,
    /// Defocus U, Å.
    pub defocus_u: Option<Num>,
    /// Defocus V, Å.
    pub defocus_v: Option<Num>,
    /// Mean defocus, Å.
    pub estimated_defocus: Option<Num>,
    /// Astigmatism, Å.
    pub astigmatism: Option<Num>,
    /// Astigmatism angle, degrees (ESRF-style name).
    pub angle: Option<Num>,
    /// Astigmatism angle, degrees.
    pub astigmatism_angle: Option<Num>,
    /// Resolution, Å (ESRF-style name).
    pub resolution_limit: Option<Num>,
    /// Resolution, Å.
    pub estimated_resolution: Option<Num>,
    /// Cross-correlation coefficient (ESRF-style name).
    pub cross_correlation_coefficient: Option<Num>,
    /// Cross-correlation coefficient.
    pub cc_value: Option<Num>,
    /// B-factor (ESRF-style schema).
    pub estimated_bfactor: Option<Num>,
    /// Log file (ESRF-style schema).
    pub log_file_path: Option<String>,
    /// Box size X (Diamond's schema).
    pub box_size_x: Option<Num>,
    /// Box size Y (Diamond's schema).
    pub box_size_y: Option<Num>,
    /// Amplitude contrast (Diamond's schema).
    pub amplitude_contrast: Option<Num>,
    /// Comments (Diamond's schema).
    pub comments: Option<String>,
}

/// What an ingestion request wrote (or found).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ingested {
    /// Id of the row (movie, motion correction or CTF).
    pub id: u32,
    /// False when the row was already there (a repeated request).
    pub created: bool,
    /// The movie.
    pub movie_id: u32,
    /// Its data collection.
    pub data_collection_id: u32,
    /// Its data collection group.
    pub data_collection_group_id: u32,
    /// Its session.
    pub session_id: u32,
}

/// Why a request cannot be carried out: the field and the reason (a 422).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The body field at fault.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

fn refuse<T>(field: &'static str, message: impl Into<String>) -> crate::Result<Result<T, Refusal>> {
    Ok(Err(Refusal { field, message: message.into() }))
}

/// A number in the flavour's type: text on the ESRF-style schema (as Java wrote it), a number
/// on Diamond's.
fn num(flavour: Flavour, v: Option<Num>) -> SqlValue {
    match (v, flavour) {
        (None, _) => SqlValue::Null,
        (Some(Num(x)), Flavour::Ispyb) => SqlValue::Text(x.to_string()),
        (Some(Num(x)), Flavour::Dls) => SqlValue::Float(x),
    }
}

fn opt_text(v: &Option<String>) -> SqlValue {
    v.clone().map_or(SqlValue::Null, SqlValue::Text)
}

fn opt_int(v: Option<u32>) -> SqlValue {
    v.map_or(SqlValue::Null, SqlValue::from)
}

/// Adds the column when the flavour has it (`ispyb`, `dls`: which flavours do).
fn put(ch: &mut Changes, flavour: Flavour, col: &'static str, (ispyb, dls): (bool, bool), v: SqlValue) {
    let has = match flavour {
        Flavour::Ispyb => ispyb,
        Flavour::Dls => dls,
    };
    if has && v != SqlValue::Null {
        ch.set(col, v);
    }
}

const BOTH: (bool, bool) = (true, true);
const ESRF: (bool, bool) = (true, false);
const DLS: (bool, bool) = (false, true);

/// The ids from a movie up to its session.
#[derive(Debug, Clone, Copy)]
struct Chain {
    movie: u32,
    dc: u32,
    group: u32,
    session: u32,
}

async fn lock_session(tx: &mut Transaction<'_, MySql>, session: u32) -> crate::Result<()> {
    sqlx::query("SELECT sessionId FROM BLSession WHERE sessionId = ? FOR UPDATE")
        .bind(session)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(())
}

/// The chain of a movie found by id or path (without locking).
async fn chain_of(db: &Db, movie_id: Option<u32>, path: Option<&str>) -> crate::Result<Option<Chain>> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT m.movieId, dc.dataCollectionId, g.dataCollectionGroupId, g.sessionId FROM Movie m
         JOIN DataCollection dc ON dc.dataCollectionId = m.dataCollectionId
         JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId WHERE ",
    );
    match (movie_id, path) {
        (Some(id), _) => q.push("m.movieId = ").push_bind(id),
        (None, Some(p)) => q.push("m.movieFullPath = ").push_bind(p.to_string()),
        (None, None) => return Ok(None),
    };
    q.push(" ORDER BY m.movieId DESC LIMIT 1");
    let row: Option<(crate::types::Int, u32, crate::types::Int, u32)> =
        q.build_query_as().fetch_optional(db.pool()).await?;
    Ok(row.map(|(m, dc, g, s)| Chain { movie: m.0 as u32, dc, group: g.0 as u32, session: s }))
}

/// Records a movie, or finds it by its full path: `created` tells which. The data collection
/// group and data collection are created as needed (with the protein, crystal and sample of
/// `sampleAcronym`), all in one transaction.
pub async fn add_movie(db: &Db, m: &NewMovie) -> crate::Result<Result<Ingested, Refusal>> {
    let flavour = db.flavour();
    if m.movie_full_path.trim().is_empty() {
        return refuse("movieFullPath", "must not be empty");
    }
    if let Some(c) = chain_of(db, None, Some(&m.movie_full_path)).await? {
        return Ok(Ok(Ingested {
            id: c.movie,
            created: false,
            movie_id: c.movie,
            data_collection_id: c.dc,
            data_collection_group_id: c.group,
            session_id: c.session,
        }));
    }
    // Where the movie goes: a data collection, or a session (and then its group and collection).
    let (session, dc) = if let Some(dc_id) = m.data_collection_id {
        let row: Option<(u32,)> = sqlx::query_as(
            "SELECT g.sessionId FROM DataCollection dc JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId
             WHERE dc.dataCollectionId = ?",
        )
        .bind(dc_id)
        .fetch_optional(db.pool())
        .await?;
        match row {
            Some((s,)) => (s, Some(dc_id)),
            None => return refuse("dataCollectionId", "no such data collection"),
        }
    } else if let Some(s) = m.session_id {
        let found: Option<(u32,)> = sqlx::query_as("SELECT sessionId FROM BLSession WHERE sessionId = ?")
            .bind(s)
            .fetch_optional(db.pool())
            .await?;
        if found.is_none() {
            return refuse("sessionId", "no such session");
        }
        (s, None)
    } else if let (Some(p), Some(bl)) = (&m.proposal, &m.beamline_name) {
        let found: Option<(u32,)> = sqlx::query_as(
            "SELECT s.sessionId FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId
             WHERE UPPER(CONCAT(p.proposalCode, p.proposalNumber)) = UPPER(?) AND s.beamLineName = ?
               AND s.startDate <= NOW() AND s.endDate >= NOW() ORDER BY s.startDate DESC, s.sessionId DESC LIMIT 1",
        )
        .bind(p)
        .bind(bl)
        .fetch_optional(db.pool())
        .await?;
        match found {
            Some((s,)) => (s, None),
            None => return refuse("proposal", format!("no session of {p} on {bl} is running now")),
        }
    } else {
        return refuse("dataCollectionId", "give dataCollectionId, sessionId, or proposal and beamlineName");
    };
    if dc.is_none() && m.movie_directory.as_deref().is_none_or(|d| d.trim().is_empty()) {
        return refuse("movieDirectory", "required when no dataCollectionId is given");
    }

    let mut tx = db.pool().begin().await?;
    lock_session(&mut tx, session).await?;
    // Another request may have recorded it while this one waited for the lock.
    let again: Option<(crate::types::Int,)> =
        sqlx::query_as("SELECT movieId FROM Movie WHERE movieFullPath = ? ORDER BY movieId DESC LIMIT 1")
            .bind(&m.movie_full_path)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((id,)) = again {
        tx.commit().await?;
        let c = chain_of(db, Some(id.0 as u32), None).await?;
        return Ok(Ok(match c {
            Some(c) => Ingested {
                id: c.movie,
                created: false,
                movie_id: c.movie,
                data_collection_id: c.dc,
                data_collection_group_id: c.group,
                session_id: c.session,
            },
            None => Ingested {
                id: id.0 as u32,
                created: false,
                movie_id: id.0 as u32,
                data_collection_id: 0,
                data_collection_group_id: 0,
                session_id: session,
            },
        }));
    }
    let (dc, group) = match dc {
        Some(dc) => {
            let (g,): (crate::types::Int,) =
                sqlx::query_as("SELECT dataCollectionGroupId FROM DataCollection WHERE dataCollectionId = ?")
                    .bind(dc)
                    .fetch_one(&mut *tx)
                    .await?;
            (dc, g.0 as u32)
        }
        None => grid_square(&mut tx, flavour, session, m).await?,
    };

    let mut ch = Changes::default();
    ch.set("dataCollectionId", dc);
    ch.set("movieFullPath", m.movie_full_path.clone());
    put(&mut ch, flavour, "movieNumber", BOTH, opt_int(m.movie_number));
    put(&mut ch, flavour, "positionX", BOTH, num(flavour, m.position_x));
    put(&mut ch, flavour, "positionY", BOTH, num(flavour, m.position_y));
    put(&mut ch, flavour, "micrographFullPath", ESRF, opt_text(&m.micrograph_full_path));
    put(&mut ch, flavour, "micrographSnapshotFullPath", ESRF, opt_text(&m.micrograph_snapshot_full_path));
    put(&mut ch, flavour, "xmlMetaDataFullPath", ESRF, opt_text(&m.xml_meta_data_full_path));
    put(&mut ch, flavour, "dosePerImage", ESRF, num(flavour, m.dose_per_image));
    put(&mut ch, flavour, "nominalDefocus", DLS, num(flavour, m.nominal_defocus));
    put(&mut ch, flavour, "angle", DLS, num(flavour, m.angle));
    put(&mut ch, flavour, "fluence", DLS, num(flavour, m.fluence));
    put(&mut ch, flavour, "numberOfFrames", DLS, opt_int(m.number_of_frames));
    if let Some(t) = m.start_time {
        ch.set("createdTimeStamp", SqlValue::Text(t.format("%Y-%m-%d %H:%M:%S").to_string()));
    }
    let id = write::insert(&mut tx, "Movie", &ch).await?;
    tx.commit().await?;
    Ok(Ok(Ingested {
        id,
        created: true,
        movie_id: id,
        data_collection_id: dc,
        data_collection_group_id: group,
        session_id: session,
    }))
}

/// The data collection (grid square) of the movie's directory in the group of its sample,
/// created with the group (and protein, crystal and sample) when missing.
async fn grid_square(
    tx: &mut Transaction<'_, MySql>,
    flavour: Flavour,
    session: u32,
    m: &NewMovie,
) -> crate::Result<(u32, u32)> {
    let sample = match &m.sample_acronym {
        Some(name) if !name.trim().is_empty() => Some(sample(tx, session, name, m.protein_acronym.as_deref()).await?),
        _ => None,
    };
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT dataCollectionGroupId FROM DataCollectionGroup WHERE experimentType = 'EM' AND sessionId = ",
    );
    q.push_bind(session);
    match sample {
        Some(s) => q.push(" AND blSampleId = ").push_bind(s),
        None => q.push(" AND blSampleId IS NULL"),
    };
    q.push(" ORDER BY dataCollectionGroupId DESC LIMIT 1");
    let found: Option<(crate::types::Int,)> = q.build_query_as().fetch_optional(&mut **tx).await?;
    let start = m.start_time.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
    let group = match found {
        Some((g,)) => g.0 as u32,
        None => {
            let mut ch = Changes::default();
            ch.set("sessionId", session);
            ch.set("experimentType", "EM".to_string());
            if let Some(s) = sample {
                ch.set("blSampleId", s);
            }
            match &start {
                Some(t) => ch.set("startTime", t.clone()),
                None => ch.set(
                    "startTime",
                    SqlValue::Text(chrono::Local::now().naive_local().format("%Y-%m-%d %H:%M:%S").to_string()),
                ),
            }
            write::insert(tx, "DataCollectionGroup", &ch).await?
        }
    };
    let dir = m.movie_directory.clone().unwrap_or_default();
    let found: Option<(u32,)> = sqlx::query_as(
        "SELECT dataCollectionId FROM DataCollection WHERE dataCollectionGroupId = ? AND imageDirectory = ?
         ORDER BY dataCollectionId DESC LIMIT 1",
    )
    .bind(group)
    .bind(&dir)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((dc,)) = found {
        return Ok((dc, group));
    }
    let mut ch = Changes::default();
    ch.set("dataCollectionGroupId", group);
    ch.set("imageDirectory", dir);
    put(&mut ch, flavour, "voltage", BOTH, m.voltage.map_or(SqlValue::Null, |v| SqlValue::Float(v.0)));
    put(&mut ch, flavour, "magnification", BOTH, m.magnification.map_or(SqlValue::Null, |v| SqlValue::Float(v.0)));
    let pixel = m.scanned_pixel_size.map_or(SqlValue::Null, |v| SqlValue::Float(v.0));
    put(&mut ch, flavour, "xBeamPix", ESRF, pixel.clone());
    put(&mut ch, flavour, "pixelSizeOnImage", DLS, pixel);
    put(&mut ch, flavour, "numberOfImages", BOTH, opt_int(m.images_count));
    put(&mut ch, flavour, "xtalSnapshotFullPath1", BOTH, opt_text(&m.grid_square_snapshot_full_path));
    put(&mut ch, flavour, "SESSIONID", BOTH, SqlValue::from(session));
    if let Some(s) = sample {
        put(&mut ch, flavour, "BLSAMPLEID", BOTH, SqlValue::from(s));
    }
    if let Some(t) = &start {
        ch.set("startTime", t.clone());
    }
    let dc = write::insert(tx, "DataCollection", &ch).await?;
    Ok((dc, group))
}

/// The sample named `name` in the session's proposal (through its crystal and protein),
/// created with a crystal of the protein `acronym` (found in the proposal or created).
async fn sample(
    tx: &mut Transaction<'_, MySql>,
    session: u32,
    name: &str,
    acronym: Option<&str>,
) -> crate::Result<u32> {
    let (proposal,): (u32,) = sqlx::query_as("SELECT proposalId FROM BLSession WHERE sessionId = ?")
        .bind(session)
        .fetch_one(&mut **tx)
        .await?;
    let acronym = acronym.filter(|a| !a.trim().is_empty()).unwrap_or(name);
    let found: Option<(u32,)> = sqlx::query_as(
        "SELECT smp.blSampleId FROM BLSample smp JOIN Crystal cr ON cr.crystalId = smp.crystalId
         JOIN Protein pr ON pr.proteinId = cr.proteinId WHERE pr.proposalId = ? AND smp.name = ? AND pr.acronym = ?
         ORDER BY smp.blSampleId DESC LIMIT 1",
    )
    .bind(proposal)
    .bind(name)
    .bind(acronym)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((s,)) = found {
        return Ok(s);
    }
    let protein: Option<(u32,)> = sqlx::query_as(
        "SELECT proteinId FROM Protein WHERE proposalId = ? AND acronym = ? ORDER BY proteinId DESC LIMIT 1",
    )
    .bind(proposal)
    .bind(acronym)
    .fetch_optional(&mut **tx)
    .await?;
    let protein = match protein {
        Some((p,)) => p,
        None => {
            let mut ch = Changes::default();
            ch.set("proposalId", proposal);
            ch.set("acronym", acronym.to_string());
            ch.set("name", acronym.to_string());
            write::insert(tx, "Protein", &ch).await?
        }
    };
    let crystal: Option<(u32,)> =
        sqlx::query_as("SELECT crystalId FROM Crystal WHERE proteinId = ? ORDER BY crystalId LIMIT 1")
            .bind(protein)
            .fetch_optional(&mut **tx)
            .await?;
    let crystal = match crystal {
        Some((c,)) => c,
        None => {
            let mut ch = Changes::default();
            ch.set("proteinId", protein);
            write::insert(tx, "Crystal", &ch).await?
        }
    };
    let mut ch = Changes::default();
    ch.set("crystalId", crystal);
    ch.set("name", name.to_string());
    write::insert(tx, "BLSample", &ch).await
}

/// Records a motion correction of a movie (given by id or full path), or finds the one with
/// the same `micrographFullPath`.
pub async fn add_motion_correction(db: &Db, mc: &NewMotionCorrection) -> crate::Result<Result<Ingested, Refusal>> {
    let flavour = db.flavour();
    if mc.movie_id.is_none() && mc.movie_full_path.is_none() {
        return refuse("movieId", "give movieId or movieFullPath");
    }
    let Some(c) = chain_of(db, mc.movie_id, mc.movie_full_path.as_deref()).await? else {
        return refuse(if mc.movie_id.is_some() { "movieId" } else { "movieFullPath" }, "no such movie");
    };
    let done = |id: u32, created: bool| Ingested {
        id,
        created,
        movie_id: c.movie,
        data_collection_id: c.dc,
        data_collection_group_id: c.group,
        session_id: c.session,
    };
    let mut tx = db.pool().begin().await?;
    lock_session(&mut tx, c.session).await?;
    if let Some(path) = &mc.micrograph_full_path {
        let found: Option<(crate::types::Int,)> = sqlx::query_as(
            "SELECT motionCorrectionId FROM MotionCorrection WHERE movieId = ? AND micrographFullPath = ?
             ORDER BY motionCorrectionId DESC LIMIT 1",
        )
        .bind(c.movie)
        .bind(path)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id,)) = found {
            tx.commit().await?;
            return Ok(Ok(done(id.0 as u32, false)));
        }
    }
    let mut ch = Changes::default();
    ch.set("movieId", c.movie);
    put(&mut ch, flavour, "dataCollectionId", DLS, SqlValue::from(c.dc));
    put(&mut ch, flavour, "autoProcProgramId", DLS, opt_int(mc.auto_proc_program_id));
    put(&mut ch, flavour, "imageNumber", DLS, opt_int(mc.image_number));
    let frame = |v: Option<u32>| match flavour {
        Flavour::Ispyb => v.map_or(SqlValue::Null, |v| SqlValue::Text(v.to_string())),
        Flavour::Dls => opt_int(v),
    };
    put(&mut ch, flavour, "firstFrame", BOTH, frame(mc.first_frame));
    put(&mut ch, flavour, "lastFrame", BOTH, frame(mc.last_frame));
    put(&mut ch, flavour, "dosePerFrame", BOTH, num(flavour, mc.dose_per_frame));
    put(&mut ch, flavour, "doseWeight", BOTH, num(flavour, mc.dose_weight));
    put(&mut ch, flavour, "totalMotion", BOTH, num(flavour, mc.total_motion));
    put(&mut ch, flavour, "averageMotionPerFrame", BOTH, num(flavour, mc.average_motion_per_frame));
    put(&mut ch, flavour, "driftPlotFullPath", BOTH, opt_text(&mc.drift_plot_full_path));
    put(&mut ch, flavour, "micrographFullPath", BOTH, opt_text(&mc.micrograph_full_path));
    put(&mut ch, flavour, "micrographSnapshotFullPath", BOTH, opt_text(&mc.micrograph_snapshot_full_path));
    put(&mut ch, flavour, "correctedDoseMicrographFullPath", ESRF, opt_text(&mc.corrected_dose_micrograph_full_path));
    put(&mut ch, flavour, "patchesUsed", ESRF, opt_text(&mc.patches_used));
    put(&mut ch, flavour, "patchesUsedX", DLS, opt_int(mc.patches_used_x));
    put(&mut ch, flavour, "patchesUsedY", DLS, opt_int(mc.patches_used_y));
    put(&mut ch, flavour, "logFileFullPath", ESRF, opt_text(&mc.log_file_full_path));
    put(&mut ch, flavour, "fftFullPath", DLS, opt_text(&mc.fft_full_path));
    put(&mut ch, flavour, "fftCorrectedFullPath", DLS, opt_text(&mc.fft_corrected_full_path));
    put(&mut ch, flavour, "comments", DLS, opt_text(&mc.comments));
    let id = write::insert(&mut tx, "MotionCorrection", &ch).await?;
    tx.commit().await?;
    Ok(Ok(done(id, true)))
}

/// Records a CTF estimation of a motion correction (by id, or the latest of a movie given by
/// full path), or finds the one with the same `spectraImageThumbnailFullPath`.
pub async fn add_ctf(db: &Db, ctf: &NewCtf) -> crate::Result<Result<Ingested, Refusal>> {
    let flavour = db.flavour();
    let (mc_id, chain) = match (ctf.motion_correction_id, &ctf.movie_full_path) {
        (Some(id), _) => {
            let movie: Option<(crate::types::Int,)> =
                sqlx::query_as("SELECT movieId FROM MotionCorrection WHERE motionCorrectionId = ?")
                    .bind(id)
                    .fetch_optional(db.pool())
                    .await?;
            let Some((movie,)) = movie else { return refuse("motionCorrectionId", "no such motion correction") };
            let Some(c) = chain_of(db, Some(movie.0 as u32), None).await? else {
                return refuse("motionCorrectionId", "the motion correction has no movie");
            };
            (id, c)
        }
        (None, Some(path)) => {
            let Some(c) = chain_of(db, None, Some(path)).await? else {
                return refuse("movieFullPath", "no such movie");
            };
            let latest: Option<(Option<crate::types::Int>,)> =
                sqlx::query_as("SELECT MAX(motionCorrectionId) FROM MotionCorrection WHERE movieId = ?")
                    .bind(c.movie)
                    .fetch_optional(db.pool())
                    .await?;
            match latest.and_then(|(v,)| v) {
                Some(id) => (id.0 as u32, c),
                None => return refuse("movieFullPath", "the movie has no motion correction yet"),
            }
        }
        (None, None) => return refuse("motionCorrectionId", "give motionCorrectionId or movieFullPath"),
    };
    let done = |id: u32, created: bool| Ingested {
        id,
        created,
        movie_id: chain.movie,
        data_collection_id: chain.dc,
        data_collection_group_id: chain.group,
        session_id: chain.session,
    };
    let mut tx = db.pool().begin().await?;
    lock_session(&mut tx, chain.session).await?;
    let id_col = super::ctf_id(flavour);
    let thumb_col = match flavour {
        Flavour::Ispyb => "spectraImageThumbnailFullPath",
        Flavour::Dls => "fftTheoreticalFullPath",
    };
    if let Some(path) = &ctf.spectra_image_thumbnail_full_path {
        let mut q = QueryBuilder::<MySql>::new(format!("SELECT {id_col} FROM CTF WHERE motionCorrectionId = "));
        q.push_bind(mc_id).push(format_args!(" AND {thumb_col} = ")).push_bind(path.clone());
        q.push(format_args!(" ORDER BY {id_col} DESC LIMIT 1"));
        let found: Option<(crate::types::Int,)> = q.build_query_as().fetch_optional(&mut *tx).await?;
        if let Some((id,)) = found {
            tx.commit().await?;
            return Ok(Ok(done(id.0 as u32, false)));
        }
    }
    // Both naming conventions onto the flavour's columns.
    let resolution = ctf.estimated_resolution.or(ctf.resolution_limit);
    let cc = ctf.cc_value.or(ctf.cross_correlation_coefficient);
    let angle = ctf.astigmatism_angle.or(ctf.angle);
    let (u, v) = match (ctf.defocus_u, ctf.defocus_v, ctf.estimated_defocus) {
        (Some(u), Some(v), _) => (Some(u), Some(v)),
        (_, _, Some(d)) => {
            let half = ctf.astigmatism.map_or(0.0, |a| a.0 / 2.0);
            (Some(Num(d.0 + half)), Some(Num(d.0 - half)))
        }
        (u, v, None) => (u, v),
    };
    let estimated = ctf.estimated_defocus.or(match (u, v) {
        (Some(u), Some(v)) => Some(Num((u.0 + v.0) / 2.0)),
        _ => None,
    });
    let astigmatism = ctf.astigmatism.or(match (ctf.defocus_u, ctf.defocus_v) {
        (Some(u), Some(v)) => Some(Num((u.0 - v.0).abs())),
        _ => None,
    });
    let mut ch = Changes::default();
    ch.set("motionCorrectionId", mc_id);
    put(&mut ch, flavour, "autoProcProgramId", DLS, opt_int(ctf.auto_proc_program_id));
    put(&mut ch, flavour, "spectraImageThumbnailFullPath", ESRF, opt_text(&ctf.spectra_image_thumbnail_full_path));
    put(&mut ch, flavour, "fftTheoreticalFullPath", DLS, opt_text(&ctf.spectra_image_thumbnail_full_path));
    put(&mut ch, flavour, "spectraImageFullPath", ESRF, opt_text(&ctf.spectra_image_full_path));
    put(&mut ch, flavour, "defocusU", ESRF, num(flavour, u));
    put(&mut ch, flavour, "defocusV", ESRF, num(flavour, v));
    put(&mut ch, flavour, "estimatedDefocus", DLS, num(flavour, estimated));
    put(&mut ch, flavour, "astigmatism", DLS, num(flavour, astigmatism));
    put(&mut ch, flavour, "angle", ESRF, num(flavour, angle));
    put(&mut ch, flavour, "astigmatismAngle", DLS, num(flavour, angle));
    put(&mut ch, flavour, "resolutionLimit", ESRF, num(flavour, resolution));
    put(&mut ch, flavour, "estimatedResolution", DLS, num(flavour, resolution));
    put(&mut ch, flavour, "crossCorrelationCoefficient", ESRF, num(flavour, cc));
    put(&mut ch, flavour, "ccValue", DLS, num(flavour, cc));
    put(&mut ch, flavour, "estimatedBfactor", ESRF, num(flavour, ctf.estimated_bfactor));
    put(&mut ch, flavour, "logFilePath", ESRF, opt_text(&ctf.log_file_path));
    put(&mut ch, flavour, "boxSizeX", DLS, num(flavour, ctf.box_size_x));
    put(&mut ch, flavour, "boxSizeY", DLS, num(flavour, ctf.box_size_y));
    put(&mut ch, flavour, "amplitudeContrast", DLS, num(flavour, ctf.amplitude_contrast));
    put(&mut ch, flavour, "comments", DLS, opt_text(&ctf.comments));
    let id = write::insert(&mut tx, "CTF", &ch).await?;
    tx.commit().await?;
    Ok(Ok(done(id, true)))
}
