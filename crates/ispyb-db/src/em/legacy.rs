//! Java ISPyB's EM queries with Java's keys, written as joins rather than over the `v_em_*`
//! views (absent on Diamond's schema and on some ESRF-style installations).
//!
//! Values stay as Java returned them: the ESRF-style schema's text numbers are strings. On
//! Diamond's schema the same keys carry its typed columns (`CTF_resolutionLimit` is
//! `estimatedResolution`, `CTF_angle` `astigmatismAngle`, `CTF_crossCorrelationCoefficient`
//! `ccValue`, `CTF_defocusU`/`V` the estimated defocus plus or minus half the astigmatism),
//! and keys without a counterpart are null.
//!
//! Unlike the views, a reprocessed movie is one row with its latest motion correction and
//! CTF (Java's single-movie routes pick those too; the views repeated the movie once per
//! result).

use std::collections::HashMap;

use serde_json::Value;
use sqlx::{MySql, QueryBuilder};

use super::{FROM_MOVIE, MovieFile, latest_joins, movie_file_query};
use crate::Db;
use crate::legacy::{DateStyle, JsonArrayStream, JsonRow, LegacyAccess, fetch_json, stream_json};
use crate::meta::Flavour;
use crate::sql::push_ids;

/// Java key, expression on the ESRF-style schema, expression on Diamond's.
type Key = (&'static str, &'static str, &'static str);

const MOVIE_KEYS: &[Key] = &[
    ("Movie_movieId", "m.movieId", "m.movieId"),
    ("Movie_dataCollectionId", "m.dataCollectionId", "m.dataCollectionId"),
    ("Movie_movieNumber", "m.movieNumber", "m.movieNumber"),
    ("Movie_movieFullPath", "m.movieFullPath", "m.movieFullPath"),
    ("Movie_positionX", "m.positionX", "m.positionX"),
    ("Movie_positionY", "m.positionY", "m.positionY"),
    ("Movie_micrographFullPath", "m.micrographFullPath", "NULL"),
    ("Movie_micrographSnapshotFullPath", "m.micrographSnapshotFullPath", "NULL"),
    ("Movie_xmlMetaDataFullPath", "m.xmlMetaDataFullPath", "NULL"),
    ("Movie_dosePerImage", "m.dosePerImage", "NULL"),
    ("Movie_createdTimeStamp", "m.createdTimeStamp", "m.createdTimeStamp"),
    ("MotionCorrection_motionCorrectionId", "mc.motionCorrectionId", "mc.motionCorrectionId"),
    ("MotionCorrection_movieId", "mc.movieId", "mc.movieId"),
    ("MotionCorrection_firstFrame", "mc.firstFrame", "mc.firstFrame"),
    ("MotionCorrection_lastFrame", "mc.lastFrame", "mc.lastFrame"),
    ("MotionCorrection_dosePerFrame", "mc.dosePerFrame", "mc.dosePerFrame"),
    ("MotionCorrection_doseWeight", "mc.doseWeight", "mc.doseWeight"),
    ("MotionCorrection_totalMotion", "mc.totalMotion", "mc.totalMotion"),
    ("MotionCorrection_averageMotionPerFrame", "mc.averageMotionPerFrame", "mc.averageMotionPerFrame"),
    ("MotionCorrection_driftPlotFullPath", "mc.driftPlotFullPath", "mc.driftPlotFullPath"),
    ("MotionCorrection_micrographFullPath", "mc.micrographFullPath", "mc.micrographFullPath"),
    ("MotionCorrection_micrographSnapshotFullPath", "mc.micrographSnapshotFullPath", "mc.micrographSnapshotFullPath"),
    ("MotionCorrection_correctedDoseMicrographFullPath", "mc.correctedDoseMicrographFullPath", "NULL"),
    ("MotionCorrection_patchesUsed", "mc.patchesUsed", "CONCAT(mc.patchesUsedX, ' x ', mc.patchesUsedY)"),
    ("MotionCorrection_logFileFullPath", "mc.logFileFullPath", "NULL"),
    ("CTF_CTFid", "c.CTFid", "c.ctfId"),
    ("CTF_motionCorrectionId", "c.motionCorrectionId", "c.motionCorrectionId"),
    ("CTF_spectraImageThumbnailFullPath", "c.spectraImageThumbnailFullPath", "c.fftTheoreticalFullPath"),
    ("CTF_spectraImageFullPath", "c.spectraImageFullPath", "NULL"),
    ("CTF_defocusU", "c.defocusU", "c.estimatedDefocus + c.astigmatism / 2"),
    ("CTF_defocusV", "c.defocusV", "c.estimatedDefocus - c.astigmatism / 2"),
    ("CTF_angle", "c.angle", "c.astigmatismAngle"),
    ("CTF_crossCorrelationCoefficient", "c.crossCorrelationCoefficient", "c.ccValue"),
    ("CTF_resolutionLimit", "c.resolutionLimit", "c.estimatedResolution"),
    ("CTF_estimatedBfactor", "c.estimatedBfactor", "NULL"),
    ("CTF_logFilePath", "c.logFilePath", "NULL"),
    ("CTF_createdTimeStamp", "c.createdTimeStamp", "NULL"),
    ("Proposal_proposalId", "s.proposalId", "s.proposalId"),
    ("BLSession_sessionId", "s.sessionId", "s.sessionId"),
];

const STATS_KEYS: &[Key] = &[
    ("proposalId", "s.proposalId", "s.proposalId"),
    ("sessionId", "s.sessionId", "s.sessionId"),
    ("imageDirectory", "dc.imageDirectory", "dc.imageDirectory"),
    ("movieId", "m.movieId", "m.movieId"),
    ("movieNumber", "m.movieNumber", "m.movieNumber"),
    ("createdTimeStamp", "m.createdTimeStamp", "m.createdTimeStamp"),
    ("motionCorrectionId", "mc.motionCorrectionId", "mc.motionCorrectionId"),
    ("dataCollectionId", "dc.dataCollectionId", "dc.dataCollectionId"),
    ("totalMotion", "mc.totalMotion", "mc.totalMotion"),
    ("averageMotionPerFrame", "mc.averageMotionPerFrame", "mc.averageMotionPerFrame"),
    ("lastFrame", "mc.lastFrame", "mc.lastFrame"),
    ("dosePerFrame", "mc.dosePerFrame", "mc.dosePerFrame"),
    ("defocusU", "c.defocusU", "c.estimatedDefocus + c.astigmatism / 2"),
    ("defocusV", "c.defocusV", "c.estimatedDefocus - c.astigmatism / 2"),
    ("resolutionLimit", "c.resolutionLimit", "c.estimatedResolution"),
    ("estimatedBfactor", "c.estimatedBfactor", "NULL"),
    ("angle", "c.angle", "c.astigmatismAngle"),
];

const CLASS_KEYS: &[Key] = &[
    ("proposalId", "s.proposalId", "s.proposalId"),
    ("sessionId", "s.sessionId", "s.sessionId"),
    ("imageDirectory", "dc.imageDirectory", "dc.imageDirectory"),
    ("particlePickerId", "pp.particlePickerId", "pp.particlePickerId"),
    ("numberOfParticles", "pp.numberOfParticles", "pp.numberOfParticles"),
    ("particleClassificationGroupId", "pcg.particleClassificationGroupId", "pcg.particleClassificationGroupId"),
    ("particleClassificationId", "pc.particleClassificationId", "pc.particleClassificationId"),
    ("classNumber", "pc.classNumber", "pc.classNumber"),
    ("classImageFullPath", "pc.classImageFullPath", "pc.classImageFullPath"),
    ("particlesPerClass", "pc.particlesPerClass", "pc.particlesPerClass"),
    ("classDistribution", "pc.classDistribution", "pc.classDistribution"),
    ("rotationAccuracy", "pc.rotationAccuracy", "pc.rotationAccuracy"),
    ("translationAccuracy", "pc.translationAccuracy", "pc.translationAccuracy"),
    ("estimatedResolution", "pc.estimatedResolution", "pc.estimatedResolution"),
    ("overallFourierCompleteness", "pc.overallFourierCompleteness", "pc.overallFourierCompleteness"),
];

fn select(keys: &[Key], flavour: Flavour) -> String {
    keys.iter()
        .map(|(key, ispyb, dls)| {
            let expr = match flavour {
                Flavour::Ispyb => ispyb,
                Flavour::Dls => dls,
            };
            format!("{expr} AS `{key}`")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` AND s.proposalId = ?` (when given) and the caller's session filter.
fn restrict(q: &mut QueryBuilder<MySql>, access: &LegacyAccess, proposal_id: Option<u32>) {
    if let Some(p) = proposal_id {
        q.push(" AND s.proposalId = ").push_bind(p);
    }
    access.push_session_filter(q, "s.proposalId", "s");
}

/// `~/em/datacollection/{dc}/movie/all`: the movies of a data collection of the proposal, each
/// with its latest motion correction and CTF (Java's `v_em_movie` keys), by movie number.
/// Streamed: the list grows with the acquisition (10,000 movies are 27 MB of JSON).
pub async fn movies(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    dc_id: u32,
    dates: DateStyle,
    drop_nulls: bool,
) -> crate::Result<JsonArrayStream> {
    let flavour = db.flavour();
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}{FROM_MOVIE}{} WHERE m.dataCollectionId = ",
        select(MOVIE_KEYS, flavour),
        latest_joins(flavour, false)
    ));
    q.push_bind(dc_id);
    restrict(&mut q, access, Some(proposal_id));
    q.push(" ORDER BY m.movieNumber, m.movieId");
    stream_json(db, q, dates, drop_nulls).await
}

/// `~/em/session/{sid}/stats`: one row per movie of the session that has a motion correction
/// with a CTF (Java's `v_em_stats` keys), latest results, by movie id. `proposal_id` of
/// `None` is py-ISPyB's header route (the session alone decides). Streamed, as [`movies`].
pub async fn session_stats(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: Option<u32>,
    session_id: u32,
    dates: DateStyle,
) -> crate::Result<JsonArrayStream> {
    let flavour = db.flavour();
    let id = super::ctf_id(flavour);
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}{FROM_MOVIE} JOIN MotionCorrection mc ON mc.motionCorrectionId = \
           (SELECT MAX(mc2.motionCorrectionId) FROM MotionCorrection mc2 WHERE mc2.movieId = m.movieId) \
         JOIN CTF c ON c.{id} = (SELECT MAX(c2.{id}) FROM CTF c2 WHERE c2.motionCorrectionId = mc.motionCorrectionId) \
         WHERE g.sessionId = ",
        select(STATS_KEYS, flavour)
    ));
    q.push_bind(session_id);
    restrict(&mut q, access, proposal_id);
    q.push(" ORDER BY m.movieId");
    stream_json(db, q, dates, false).await
}

/// Which data collections the EM stats query counts.
#[derive(Debug, Clone)]
pub enum StatsOf {
    /// These data collections (Java's `{dataCollectionIdList}`), in this order.
    DataCollections(Vec<u32>),
    /// Every data collection of these groups, by group then id.
    Groups(Vec<u32>),
}

/// Java's EM stats query: per data collection of the proposal, `movieCount`,
/// `motionCorrectionCount` and `ctfCorrectionCount` (rows, as Java counted them).
pub async fn stats(db: &Db, access: &LegacyAccess, proposal_id: u32, of: &StatsOf) -> crate::Result<Vec<JsonRow>> {
    let mut rows = stats_with_group(db, access, proposal_id, of).await?;
    for r in &mut rows {
        r.remove("dataCollectionGroupId");
    }
    Ok(rows)
}

/// [`stats`] with each row's group under `dataCollectionGroupId`.
async fn stats_with_group(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    of: &StatsOf,
) -> crate::Result<Vec<JsonRow>> {
    let id = super::ctf_id(db.flavour());
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT dc.dataCollectionId, COUNT(DISTINCT m.movieId) AS movieCount,
           COUNT(DISTINCT mc.motionCorrectionId) AS motionCorrectionCount, COUNT(DISTINCT c.{id}) AS ctfCorrectionCount,
           dc.dataCollectionGroupId AS dataCollectionGroupId
         FROM DataCollection dc JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN BLSession s ON s.sessionId = g.sessionId
         LEFT JOIN Movie m ON m.dataCollectionId = dc.dataCollectionId
         LEFT JOIN MotionCorrection mc ON mc.movieId = m.movieId
         LEFT JOIN CTF c ON c.motionCorrectionId = mc.motionCorrectionId WHERE "
    ));
    let ids = match of {
        StatsOf::DataCollections(ids) => {
            q.push("dc.dataCollectionId IN (");
            ids
        }
        StatsOf::Groups(ids) => {
            q.push("dc.dataCollectionGroupId IN (");
            ids
        }
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    push_ids(&mut q, ids);
    q.push(")");
    restrict(&mut q, access, Some(proposal_id));
    q.push(" GROUP BY dc.dataCollectionId, dc.dataCollectionGroupId ORDER BY ");
    match of {
        StatsOf::DataCollections(ids) => {
            q.push("FIELD(dc.dataCollectionId, ");
            push_ids(&mut q, ids);
            q.push(")");
        }
        StatsOf::Groups(_) => {
            q.push("dc.dataCollectionGroupId, dc.dataCollectionId");
        }
    }
    fetch_json(db, q, DateStyle::Iso).await
}

/// `~/em/datacollection/session/{ids}/list`: Java's DC-group query for the sessions, each row
/// with `stats`, the EM stats of every data collection of its group (two statements beyond the
/// group query).
pub async fn session_groups(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    session_ids: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    let by = crate::legacy::collections::GroupsBy::Sessions(session_ids.to_vec());
    let mut rows = crate::legacy::collections::groups(db, access, proposal_id, &by, dates).await?;
    let group_ids: Vec<u32> = rows
        .iter()
        .filter_map(|r| r.get("DataCollectionGroup_dataCollectionGroupId").and_then(Value::as_u64))
        .map(|v| v as u32)
        .collect();
    let mut by_group: HashMap<u64, Vec<Value>> = HashMap::new();
    for mut s in stats_with_group(db, access, proposal_id, &StatsOf::Groups(group_ids)).await? {
        let g = s.remove("dataCollectionGroupId").and_then(|v| v.as_u64()).unwrap_or(0);
        by_group.entry(g).or_default().push(Value::Object(s));
    }
    for row in &mut rows {
        let g = row.get("DataCollectionGroup_dataCollectionGroupId").and_then(Value::as_u64).unwrap_or(0);
        row.insert("stats".into(), Value::Array(by_group.get(&g).cloned().unwrap_or_default()));
    }
    Ok(rows)
}

/// `~/em/session/{sid}/classification`: every class of the session (Java's
/// `v_em_classification` keys), by class id. `proposal_id` of `None`: py-ISPyB's header
/// route.
pub async fn classification(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: Option<u32>,
    session_id: u32,
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    let flavour = db.flavour();
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM ParticleClassification pc{} WHERE g.sessionId = ",
        select(CLASS_KEYS, flavour),
        super::class_joins(flavour)
    ));
    q.push_bind(session_id);
    restrict(&mut q, access, proposal_id);
    q.push(" ORDER BY pcg.particleClassificationGroupId, pc.classNumber, pc.particleClassificationId");
    fetch_json(db, q, dates).await
}

/// A file of a movie of the proposal (the movie's row, or its latest results); with `dc_id`,
/// only when the movie is in that data collection (Java's check). `None`: no such movie;
/// `Some(None)`: no such file.
pub async fn movie_file(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    dc_id: Option<u32>,
    movie_id: u32,
    file: MovieFile,
) -> crate::Result<Option<Option<String>>> {
    let mut q = movie_file_query(db.flavour(), file, movie_id);
    if let Some(dc) = dc_id {
        q.push(" AND m.dataCollectionId = ").push_bind(dc);
    }
    restrict(&mut q, access, Some(proposal_id));
    Ok(q.build_query_scalar::<Option<String>>().fetch_optional(db.pool()).await?)
}

/// The image of a class of the proposal (Java checked no proposal here; this does).
pub async fn class_image(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    class_id: u32,
) -> crate::Result<Option<Option<String>>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT pc.classImageFullPath FROM ParticleClassification pc{} WHERE pc.particleClassificationId = ",
        super::class_joins(db.flavour())
    ));
    q.push_bind(class_id);
    restrict(&mut q, access, Some(proposal_id));
    q.push(" LIMIT 1");
    Ok(q.build_query_scalar::<Option<String>>().fetch_optional(db.pool()).await?)
}
