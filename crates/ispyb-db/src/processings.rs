//! Processing results of data collections: the status summaries py-ispyb-ui polls for the
//! cards of a session page, auto-integrations with their statistics, screenings, processing
//! programs and their attachments and messages.
//!
//! The polled summaries (`status`, `messages/status`) cost a fixed number of statements
//! whatever the number of data collections asked for: one to keep the visible ids, then one
//! per kind of result, each an `IN (…)` over those ids.
//!
//! The flavours differ: `dls` links programs to data collections through `ProcessingJob` and
//! has `AutoProcProgramMessage`; `ispyb` links them through `AutoProcProgram.dataCollectionId`
//! and has no messages. `processingStatus` is an enum there (`RUNNING`, `FAILED`, `SUCCESS`,
//! `0`, `1`) and a boolean in `dls`; both are served as py-ISPyB's `StatusEnum` (null running,
//! 0 failed, 1 success, 2 did not run).

use std::collections::{BTreeMap, HashMap};

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::datacollections::{DC_TO_PROPOSAL, visible_ids};
use crate::events::has_table;
use crate::meta::{Flavour, Table};
use crate::sql::push_ids;
use crate::types::{Int, Scalar};
use crate::{Access, Db, Page, Paged, models};

/// py-ISPyB's `StatusEnum` value of a status column: null (running), 0, 1 or 2.
pub fn status_value(v: &Scalar) -> Option<i64> {
    match v {
        Scalar::Null => None,
        Scalar::Int(i) => Some(*i),
        Scalar::Float(f) => Some(*f as i64),
        Scalar::Text(t) => match t.to_ascii_uppercase().as_str() {
            "SUCCESS" | "1" => Some(1),
            "FAILED" | "0" => Some(0),
            "2" => Some(2),
            _ => None,
        },
    }
}

/// Status of one screening.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ScreeningStatus {
    /// Strategy success.
    pub status: Option<i64>,
    /// Indexing success.
    #[serde(rename = "indexingSuccess")]
    pub indexing_success: Option<i64>,
}

/// Status of one program run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ProgramStatus {
    /// Processing status.
    pub status: Option<i64>,
    /// The program run.
    #[serde(rename = "autoProcProgramId")]
    pub auto_proc_program_id: u32,
}

/// Cryo-EM progress of a data collection.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProcessingEmStatus)]
pub struct EmStatus {
    /// Movies.
    pub movie: i64,
    /// Motion corrections.
    #[serde(rename = "motionCorrection")]
    pub motion_correction: i64,
    /// CTF estimations.
    pub ctf: i64,
}

/// Processing statuses of one data collection; each key only when there is something.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ProcessingStatuses {
    /// Screenings by program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screening: Option<BTreeMap<String, Vec<ScreeningStatus>>>,
    /// Automatic processings that are not integrations, by program (`dls` flavour).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing: Option<BTreeMap<String, Vec<ProgramStatus>>>,
    /// Auto-integrations by program.
    #[serde(rename = "autoIntegration", skip_serializing_if = "Option::is_none")]
    pub auto_integration: Option<BTreeMap<String, Vec<ProgramStatus>>>,
    /// Cryo-EM counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub em: Option<EmStatus>,
}

/// `{"statuses": {dataCollectionId: …}}`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProcessingStatusesList)]
pub struct ProcessingStatusesList {
    /// By data collection id.
    pub statuses: BTreeMap<u32, ProcessingStatuses>,
}

/// SQL: the data collection ids of program `app` (through integrations, `ProcessingJob` in
/// `dls`, `AutoProcProgram.dataCollectionId` in `ispyb`).
fn program_dc_ids(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Ispyb => {
            "SELECT api.dataCollectionId FROM AutoProcIntegration api WHERE api.autoProcProgramId = app.autoProcProgramId
             UNION SELECT app.dataCollectionId"
        }
        Flavour::Dls => {
            "SELECT api.dataCollectionId FROM AutoProcIntegration api WHERE api.autoProcProgramId = app.autoProcProgramId
             UNION SELECT pj.dataCollectionId FROM ProcessingJob pj WHERE pj.processingJobId = app.processingJobId"
        }
    }
}

/// ` AND <program app is visible>`.
fn push_program_visible(q: &mut QueryBuilder<MySql>, db: &Db, access: &Access) {
    q.push(format_args!(
        " AND EXISTS (SELECT 1 FROM DataCollection dc{DC_TO_PROPOSAL} WHERE dc.dataCollectionId IN ({})",
        program_dc_ids(db.flavour())
    ));
    access.push_filter(q, "p.proposalId", "s");
    q.push(")");
}

/// ` AND <program app belongs to data collection id>`.
fn push_program_of_dc(q: &mut QueryBuilder<MySql>, db: &Db, id: u32) {
    q.push(" AND ").push_bind(id).push(format_args!(" IN ({})", program_dc_ids(db.flavour())));
}

/// Processing statuses of the visible data collections among `ids`.
pub async fn statuses(db: &Db, access: &Access, ids: &[u32]) -> crate::Result<ProcessingStatusesList> {
    let ids = visible_ids(db, access, ids).await?;
    let mut out = ProcessingStatusesList::default();
    if ids.is_empty() {
        return Ok(out);
    }

    // Screenings attached to the data collection or to its group.
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT dc.dataCollectionId, sc.programVersion, CAST(so.strategySuccess AS SIGNED), CAST(so.indexingSuccess AS SIGNED)
         FROM DataCollection dc JOIN Screening sc ON sc.dataCollectionId = dc.dataCollectionId
         JOIN ScreeningOutput so ON so.screeningId = sc.screeningId WHERE dc.dataCollectionId IN (",
    );
    push_ids(&mut q, &ids);
    q.push(
        ") UNION ALL SELECT dc.dataCollectionId, sc.programVersion, CAST(so.strategySuccess AS SIGNED), CAST(so.indexingSuccess AS SIGNED)
         FROM DataCollection dc JOIN Screening sc ON sc.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN ScreeningOutput so ON so.screeningId = sc.screeningId
         WHERE (sc.dataCollectionId IS NULL OR sc.dataCollectionId <> dc.dataCollectionId) AND dc.dataCollectionId IN (",
    );
    push_ids(&mut q, &ids);
    q.push(") ORDER BY 1, 2");
    type ScreeningRow = (u32, Option<String>, Option<i64>, Option<i64>);
    let rows: Vec<ScreeningRow> = q.build_query_as().fetch_all(db.pool()).await?;
    for (dc, program, status, indexing) in rows {
        out.statuses
            .entry(dc)
            .or_default()
            .screening
            .get_or_insert_with(BTreeMap::new)
            .entry(program.unwrap_or_default())
            .or_default()
            .push(ScreeningStatus { status, indexing_success: indexing });
    }

    // Auto-integrations.
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT DISTINCT api.dataCollectionId, app.autoProcProgramId, app.processingPrograms, app.processingStatus
         FROM AutoProcIntegration api JOIN AutoProcProgram app ON app.autoProcProgramId = api.autoProcProgramId
         WHERE api.dataCollectionId IN (",
    );
    push_ids(&mut q, &ids);
    q.push(") ORDER BY 1, 2");
    let rows: Vec<(u32, u32, Option<String>, Scalar)> = q.build_query_as().fetch_all(db.pool()).await?;
    for (dc, app, program, status) in rows {
        out.statuses
            .entry(dc)
            .or_default()
            .auto_integration
            .get_or_insert_with(BTreeMap::new)
            .entry(program.unwrap_or_default())
            .or_default()
            .push(ProgramStatus { status: status_value(&status), auto_proc_program_id: app });
    }

    // Automatic processings without an integration (`dls`: processing jobs).
    if has_table::<models::ProcessingJob>(db) {
        let mut q = QueryBuilder::<MySql>::new(
            "SELECT pj.dataCollectionId, app.autoProcProgramId, app.processingPrograms, app.processingStatus
             FROM ProcessingJob pj JOIN AutoProcProgram app ON app.processingJobId = pj.processingJobId
             WHERE pj.automatic = 1 AND NOT EXISTS (SELECT 1 FROM AutoProcIntegration api
               WHERE api.autoProcProgramId = app.autoProcProgramId) AND pj.dataCollectionId IN (",
        );
        push_ids(&mut q, &ids);
        q.push(") ORDER BY 1, 2");
        let rows: Vec<(u32, u32, Option<String>, Scalar)> = q.build_query_as().fetch_all(db.pool()).await?;
        for (dc, app, program, status) in rows {
            out.statuses
                .entry(dc)
                .or_default()
                .processing
                .get_or_insert_with(BTreeMap::new)
                .entry(program.unwrap_or_default())
                .or_default()
                .push(ProgramStatus { status: status_value(&status), auto_proc_program_id: app });
        }
    }

    // Cryo-EM: movies, motion corrections, CTF estimations.
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT m.dataCollectionId, COUNT(DISTINCT m.movieId), COUNT(DISTINCT mc.motionCorrectionId), COUNT(DISTINCT ctf.ctfId)
         FROM Movie m LEFT JOIN MotionCorrection mc ON mc.movieId = m.movieId
         LEFT JOIN CTF ctf ON ctf.motionCorrectionId = mc.motionCorrectionId
         WHERE m.dataCollectionId IN (",
    );
    push_ids(&mut q, &ids);
    q.push(") GROUP BY m.dataCollectionId");
    let rows: Vec<(u32, i64, i64, i64)> = q.build_query_as().fetch_all(db.pool()).await?;
    for (dc, movie, motion_correction, ctf) in rows {
        out.statuses.entry(dc).or_default().em = Some(EmStatus { movie, motion_correction, ctf });
    }
    Ok(out)
}

/// Message counts of one data collection's processings.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct MessageStatus {
    /// Errors.
    pub errors: i64,
    /// Warnings.
    pub warnings: i64,
    /// Information.
    pub info: i64,
}

/// `{"statuses": {dataCollectionId: {errors, warnings, info}}}`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
#[schema(as = AutoProcProgramMessageStatuses)]
pub struct MessageStatuses {
    /// By data collection id.
    pub statuses: BTreeMap<u32, MessageStatus>,
}

/// Counts of processing messages by severity for the visible data collections among `ids`;
/// empty where the schema has no messages (`ispyb` flavour).
pub async fn message_statuses(db: &Db, access: &Access, ids: &[u32]) -> crate::Result<MessageStatuses> {
    let mut out = MessageStatuses::default();
    if !has_table::<models::AutoProcProgramMessage>(db) {
        return Ok(out);
    }
    let ids = visible_ids(db, access, ids).await?;
    if ids.is_empty() {
        return Ok(out);
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT t.dc, CAST(SUM(m.severity = 'ERROR') AS SIGNED), CAST(SUM(m.severity = 'WARNING') AS SIGNED),
           CAST(SUM(m.severity = 'INFO') AS SIGNED)
         FROM (SELECT api.dataCollectionId AS dc, api.autoProcProgramId AS app FROM AutoProcIntegration api
               WHERE api.dataCollectionId IN (",
    );
    push_ids(&mut q, &ids);
    q.push(
        ") UNION SELECT pj.dataCollectionId, app.autoProcProgramId FROM ProcessingJob pj
           JOIN AutoProcProgram app ON app.processingJobId = pj.processingJobId WHERE pj.dataCollectionId IN (",
    );
    push_ids(&mut q, &ids);
    q.push(")) t JOIN AutoProcProgramMessage m ON m.autoProcProgramId = t.app GROUP BY t.dc ORDER BY t.dc");
    let rows: Vec<(u32, i64, i64, i64)> = q.build_query_as().fetch_all(db.pool()).await?;
    for (dc, errors, warnings, info) in rows {
        out.statuses.insert(dc, MessageStatus { errors, warnings, info });
    }
    Ok(out)
}

/// Visible processing messages (`dls` flavour; an empty page elsewhere).
pub async fn messages(
    db: &Db,
    access: &Access,
    data_collection_id: Option<u32>,
    message_id: Option<u32>,
    page: Page,
) -> crate::Result<Paged<models::AutoProcProgramMessage>> {
    if !has_table::<models::AutoProcProgramMessage>(db) {
        return Ok(Paged::new(Vec::new(), 0, page));
    }
    let push_where = |q: &mut QueryBuilder<MySql>| {
        if let Some(id) = message_id {
            q.push(" AND m.autoProcProgramMessageId = ").push_bind(id);
        }
        if let Some(id) = data_collection_id {
            push_program_of_dc(q, db, id);
        }
        push_program_visible(q, db, access);
    };
    let from = " FROM AutoProcProgramMessage m JOIN AutoProcProgram app ON app.autoProcProgramId = m.autoProcProgramId WHERE 1";
    let mut count = QueryBuilder::<MySql>::new(format!("SELECT COUNT(*){from}"));
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}{from}",
        <models::AutoProcProgramMessage as Table>::meta().select("m", db.flavour())
    ));
    push_where(&mut q);
    q.push(" ORDER BY m.autoProcProgramMessageId LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let rows = q.build_query_as().fetch_all(db.pool()).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// `_metadata` of a program.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProcessingProgramMetadata)]
pub struct ProgramMetadata {
    /// Attachments of the program.
    pub attachments: i64,
    /// Messages of the program (empty without the message table).
    #[serde(rename = "autoProcProgramMessages")]
    pub auto_proc_program_messages: Vec<models::AutoProcProgramMessage>,
    /// Image sweeps of the program's processing job (`dls` flavour).
    #[serde(rename = "imageSweepCount", skip_serializing_if = "Option::is_none")]
    pub image_sweep_count: Option<i64>,
}

/// A processing job with its parameters (`dls` flavour).
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProcessingJobWithParameters)]
pub struct ProcessingJob {
    /// The `ProcessingJob` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::ProcessingJob,
    /// Its parameters.
    #[sqlx(skip)]
    #[serde(rename = "ProcessingJobParameters")]
    pub parameters: Vec<models::ProcessingJobParameter>,
}

/// A processing program run (`AutoProcProgram`), its job and `_metadata`.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ProcessingProgram)]
pub struct Program {
    /// The `AutoProcProgram` row; `processingStatus` as py-ISPyB's `StatusEnum`.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::AutoProcProgram,
    /// `processingJobId` (`dls` flavour).
    #[sqlx(rename = "processingJobId")]
    #[serde(rename = "processingJobId")]
    pub processing_job_id: Option<u32>,
    /// The processing job (`dls` flavour).
    #[sqlx(skip)]
    #[serde(rename = "ProcessingJob")]
    pub processing_job: Option<ProcessingJob>,
    /// Counts and messages.
    #[sqlx(skip)]
    #[serde(rename = "_metadata")]
    pub metadata: ProgramMetadata,
}

fn program_select(db: &Db) -> String {
    let job = match db.flavour() {
        Flavour::Dls => "app.processingJobId",
        Flavour::Ispyb => "CAST(NULL AS UNSIGNED)",
    };
    format!("{}, {job} AS processingJobId", <models::AutoProcProgram as Table>::meta().select("app", db.flavour()))
}

/// Attachment counts, messages and processing jobs of a page of programs (fixed statements).
async fn enrich_programs(db: &Db, programs: &mut [Program]) -> crate::Result<()> {
    let ids: Vec<u32> = programs.iter().map(|p| p.base.auto_proc_program_id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT a.autoProcProgramId, COUNT(*) FROM AutoProcProgramAttachment a WHERE a.autoProcProgramId IN (",
    );
    push_ids(&mut q, &ids);
    q.push(") GROUP BY a.autoProcProgramId");
    let counts: HashMap<u32, i64> = q.build_query_as::<(u32, i64)>().fetch_all(db.pool()).await?.into_iter().collect();
    let mut messages: HashMap<u32, Vec<models::AutoProcProgramMessage>> = HashMap::new();
    if has_table::<models::AutoProcProgramMessage>(db) {
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM AutoProcProgramMessage m WHERE m.autoProcProgramId IN (",
            <models::AutoProcProgramMessage as Table>::meta().select("m", db.flavour())
        ));
        push_ids(&mut q, &ids);
        q.push(") ORDER BY m.autoProcProgramMessageId");
        let rows: Vec<models::AutoProcProgramMessage> = q.build_query_as().fetch_all(db.pool()).await?;
        for m in rows {
            if let Some(app) = m.auto_proc_program_id {
                messages.entry(app).or_default().push(m);
            }
        }
    }
    let job_ids: Vec<u32> = programs.iter().filter_map(|p| p.processing_job_id).collect();
    let mut jobs: HashMap<u32, ProcessingJob> = HashMap::new();
    let mut sweeps: HashMap<u32, i64> = HashMap::new();
    if !job_ids.is_empty() && has_table::<models::ProcessingJob>(db) {
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM ProcessingJob pj WHERE pj.processingJobId IN (",
            <models::ProcessingJob as Table>::meta().select("pj", db.flavour())
        ));
        push_ids(&mut q, &job_ids);
        q.push(")");
        let rows: Vec<ProcessingJob> = q.build_query_as().fetch_all(db.pool()).await?;
        jobs = rows.into_iter().map(|j| (j.base.processing_job_id, j)).collect();
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM ProcessingJobParameter pjp WHERE pjp.processingJobId IN (",
            <models::ProcessingJobParameter as Table>::meta().select("pjp", db.flavour())
        ));
        push_ids(&mut q, &job_ids);
        q.push(") ORDER BY pjp.processingJobParameterId");
        let params: Vec<models::ProcessingJobParameter> = q.build_query_as().fetch_all(db.pool()).await?;
        for p in params {
            if let Some(job) = p.processing_job_id.and_then(|id| jobs.get_mut(&id)) {
                job.parameters.push(p);
            }
        }
        let mut q = QueryBuilder::<MySql>::new(
            "SELECT s.processingJobId, COUNT(*) FROM ProcessingJobImageSweep s WHERE s.processingJobId IN (",
        );
        push_ids(&mut q, &job_ids);
        q.push(") GROUP BY s.processingJobId");
        sweeps = q.build_query_as::<(u32, i64)>().fetch_all(db.pool()).await?.into_iter().collect();
    }
    for p in programs {
        let id = p.base.auto_proc_program_id;
        p.base.processing_status = status_value(&p.base.processing_status).map_or(Scalar::Null, Scalar::Int);
        p.metadata.attachments = counts.get(&id).copied().unwrap_or(0);
        p.metadata.auto_proc_program_messages = messages.remove(&id).unwrap_or_default();
        if let Some(job) = p.processing_job_id {
            p.processing_job = jobs.get(&job).cloned();
            p.metadata.image_sweep_count = Some(sweeps.get(&job).copied().unwrap_or(0));
        }
    }
    Ok(())
}

/// Visible processing programs that are not auto-integrations (`dls`: through processing
/// jobs; `ispyb`: through `AutoProcProgram.dataCollectionId`), newest first.
pub async fn programs(
    db: &Db,
    access: &Access,
    data_collection_id: Option<u32>,
    page: Page,
) -> crate::Result<Paged<Program>> {
    // Joined to its data collection directly (through the processing job in `dls`), so the
    // caller's filter and the data collection filter are index lookups.
    let from = match db.flavour() {
        Flavour::Dls => {
            " FROM AutoProcProgram app JOIN ProcessingJob pj ON pj.processingJobId = app.processingJobId
             JOIN DataCollection dc ON dc.dataCollectionId = pj.dataCollectionId"
        }
        Flavour::Ispyb => {
            " FROM AutoProcProgram app JOIN DataCollection dc ON dc.dataCollectionId = app.dataCollectionId"
        }
    };
    let push_where = |q: &mut QueryBuilder<MySql>| {
        q.push(DC_TO_PROPOSAL).push(
            " WHERE NOT EXISTS (SELECT 1 FROM AutoProcIntegration api WHERE api.autoProcProgramId = app.autoProcProgramId)",
        );
        if let Some(id) = data_collection_id {
            q.push(" AND dc.dataCollectionId = ").push_bind(id);
        }
        access.push_filter(q, "p.proposalId", "s");
    };
    let mut count = QueryBuilder::<MySql>::new(format!("SELECT COUNT(DISTINCT app.autoProcProgramId){from}"));
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!("SELECT DISTINCT {}{from}", program_select(db)));
    push_where(&mut q);
    q.push(" ORDER BY app.autoProcProgramId DESC LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let mut rows: Vec<Program> = q.build_query_as().fetch_all(db.pool()).await?;
    enrich_programs(db, &mut rows).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// An auto-integration program with its integrations, scalings and statistics.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = AutoProcProgramIntegration)]
pub struct ProgramIntegration {
    /// The program.
    #[serde(flatten)]
    pub program: Program,
    /// Its integrations.
    #[serde(rename = "AutoProcIntegration")]
    pub integrations: Vec<Integration>,
}

/// An integration with its scalings and the beam of its data collection.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = AutoProcIntegrationResult)]
pub struct Integration {
    /// The `AutoProcIntegration` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::AutoProcIntegration,
    /// Scalings of the integration.
    #[sqlx(skip)]
    #[serde(rename = "AutoProcScalingHasInt")]
    pub scaling_has_int: Vec<ScalingHasInt>,
    /// Beam centre recorded with the data collection.
    #[sqlx(skip)]
    #[serde(rename = "DataCollection")]
    pub data_collection: Option<BeamCentre>,
}

/// Beam centre of a data collection.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct BeamCentre {
    /// x.
    #[sqlx(rename = "xBeam")]
    #[serde(rename = "xBeam")]
    pub x_beam: Option<f32>,
    /// y.
    #[sqlx(rename = "yBeam")]
    #[serde(rename = "yBeam")]
    pub y_beam: Option<f32>,
}

/// Link from an integration to a scaling.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ScalingHasInt {
    /// `AutoProcScaling_has_IntId`.
    #[serde(rename = "autoProcScaling_has_IntId")]
    pub id: u32,
    /// The scaling.
    #[serde(rename = "AutoProcScaling")]
    pub scaling: Option<Scaling>,
}

/// A scaling with its `AutoProc` (space group, cell) and statistics.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = AutoProcScalingResult)]
pub struct Scaling {
    /// The `AutoProcScaling` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::AutoProcScaling,
    /// Space group and cell.
    #[sqlx(skip)]
    #[serde(rename = "AutoProc")]
    pub auto_proc: Option<models::AutoProc>,
    /// Overall, inner and outer shell statistics.
    #[sqlx(skip)]
    #[serde(rename = "AutoProcScalingStatistics")]
    pub statistics: Vec<models::AutoProcScalingStatistics>,
}

/// Visible auto-integration programs, newest first, with their results.
pub async fn auto_integrations(
    db: &Db,
    access: &Access,
    data_collection_id: Option<u32>,
    page: Page,
) -> crate::Result<Paged<ProgramIntegration>> {
    let push_where = |q: &mut QueryBuilder<MySql>| {
        q.push(" AND EXISTS (SELECT 1 FROM AutoProcIntegration api JOIN DataCollection dc ON dc.dataCollectionId = api.dataCollectionId");
        q.push(DC_TO_PROPOSAL).push(" WHERE api.autoProcProgramId = app.autoProcProgramId");
        if let Some(id) = data_collection_id {
            q.push(" AND api.dataCollectionId = ").push_bind(id);
        }
        access.push_filter(q, "p.proposalId", "s");
        q.push(")");
    };
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM AutoProcProgram app WHERE 1");
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!("SELECT {} FROM AutoProcProgram app WHERE 1", program_select(db)));
    push_where(&mut q);
    q.push(" ORDER BY app.autoProcProgramId DESC LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let mut programs: Vec<Program> = q.build_query_as().fetch_all(db.pool()).await?;
    enrich_programs(db, &mut programs).await?;
    let ids: Vec<u32> = programs.iter().map(|p| p.base.auto_proc_program_id).collect();
    if ids.is_empty() {
        return Ok(Paged::new(Vec::new(), total as u64, page));
    }

    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM AutoProcIntegration api WHERE api.autoProcProgramId IN (",
        <models::AutoProcIntegration as Table>::meta().select("api", db.flavour())
    ));
    push_ids(&mut q, &ids);
    q.push(") ORDER BY api.autoProcIntegrationId");
    let mut integrations: Vec<Integration> = q.build_query_as().fetch_all(db.pool()).await?;
    let dc_ids: Vec<u32> = integrations.iter().map(|i| i.base.data_collection_id).collect();
    let int_ids: Vec<u32> = integrations.iter().map(|i| i.base.auto_proc_integration_id).collect();

    let mut q = QueryBuilder::<MySql>::new(
        "SELECT dc.dataCollectionId, dc.xBeam, dc.yBeam FROM DataCollection dc WHERE dc.dataCollectionId IN (",
    );
    push_ids(&mut q, &dc_ids);
    q.push(")");
    let beams: HashMap<u32, BeamCentre> = q
        .build_query_as::<(u32, Option<f32>, Option<f32>)>()
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|(id, x_beam, y_beam)| (id, BeamCentre { x_beam, y_beam }))
        .collect();

    // Integration → scaling links, scalings, AutoProc rows, statistics: one statement each.
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT h.autoProcScaling_has_IntId, h.autoProcIntegrationId, h.autoProcScalingId
         FROM AutoProcScaling_has_Int h WHERE h.autoProcIntegrationId IN (",
    );
    push_ids(&mut q, &int_ids);
    q.push(") ORDER BY h.autoProcScaling_has_IntId");
    let links: Vec<(u32, Option<u32>, Option<u32>)> = q.build_query_as().fetch_all(db.pool()).await?;
    let scaling_ids: Vec<u32> = links.iter().filter_map(|l| l.2).collect();
    let mut scalings: HashMap<u32, Scaling> = HashMap::new();
    if !scaling_ids.is_empty() {
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM AutoProcScaling aps WHERE aps.autoProcScalingId IN (",
            <models::AutoProcScaling as Table>::meta().select("aps", db.flavour())
        ));
        push_ids(&mut q, &scaling_ids);
        q.push(")");
        let rows: Vec<Scaling> = q.build_query_as().fetch_all(db.pool()).await?;
        let ap_ids: Vec<u32> = rows.iter().filter_map(|s| s.base.auto_proc_id).collect();
        scalings = rows.into_iter().map(|s| (s.base.auto_proc_scaling_id, s)).collect();
        if !ap_ids.is_empty() {
            let mut q = QueryBuilder::<MySql>::new(format!(
                "SELECT {} FROM AutoProc ap WHERE ap.autoProcId IN (",
                <models::AutoProc as Table>::meta().select("ap", db.flavour())
            ));
            push_ids(&mut q, &ap_ids);
            q.push(")");
            let aps: HashMap<u32, models::AutoProc> = q
                .build_query_as::<models::AutoProc>()
                .fetch_all(db.pool())
                .await?
                .into_iter()
                .map(|a| (a.auto_proc_id, a))
                .collect();
            for s in scalings.values_mut() {
                s.auto_proc = s.base.auto_proc_id.and_then(|id| aps.get(&id).cloned());
            }
        }
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM AutoProcScalingStatistics st WHERE st.autoProcScalingId IN (",
            <models::AutoProcScalingStatistics as Table>::meta().select("st", db.flavour())
        ));
        push_ids(&mut q, &scaling_ids);
        q.push(") ORDER BY st.autoProcScalingStatisticsId");
        let stats: Vec<models::AutoProcScalingStatistics> = q.build_query_as().fetch_all(db.pool()).await?;
        for st in stats {
            if let Some(s) = st.auto_proc_scaling_id.and_then(|id| scalings.get_mut(&id)) {
                s.statistics.push(st);
            }
        }
    }
    for i in &mut integrations {
        i.data_collection = beams.get(&i.base.data_collection_id).cloned();
        i.scaling_has_int = links
            .iter()
            .filter(|l| l.1 == Some(i.base.auto_proc_integration_id))
            .map(|l| ScalingHasInt { id: l.0, scaling: l.2.and_then(|id| scalings.get(&id).cloned()) })
            .collect();
    }
    let results = programs
        .into_iter()
        .map(|program| {
            let id = program.base.auto_proc_program_id;
            ProgramIntegration {
                integrations: integrations
                    .iter()
                    .filter(|i| i.base.auto_proc_program_id == Some(id))
                    .cloned()
                    .collect(),
                program,
            }
        })
        .collect();
    Ok(Paged::new(results, total as u64, page))
}

/// A screening with its outputs, strategies, wedges, sub-wedges and lattices.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ScreeningResult)]
pub struct Screening {
    /// The `Screening` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::Screening,
    /// Outputs.
    #[sqlx(skip)]
    #[serde(rename = "ScreeningOutput")]
    pub outputs: Vec<ScreeningOutput>,
}

/// A screening output.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ScreeningOutputResult)]
pub struct ScreeningOutput {
    /// The `ScreeningOutput` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::ScreeningOutput,
    /// Strategies.
    #[sqlx(skip)]
    #[serde(rename = "ScreeningStrategy")]
    pub strategies: Vec<ScreeningStrategy>,
    /// Lattices (cell, space group).
    #[sqlx(skip)]
    #[serde(rename = "ScreeningOutputLattice")]
    pub lattices: Vec<models::ScreeningOutputLattice>,
}

/// A strategy with its wedges.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ScreeningStrategyResult)]
pub struct ScreeningStrategy {
    /// The `ScreeningStrategy` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::ScreeningStrategy,
    /// Wedges.
    #[sqlx(skip)]
    #[serde(rename = "ScreeningStrategyWedge")]
    pub wedges: Vec<ScreeningStrategyWedge>,
}

/// A wedge with its sub-wedges.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ScreeningStrategyWedgeResult)]
pub struct ScreeningStrategyWedge {
    /// The `ScreeningStrategyWedge` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::ScreeningStrategyWedge,
    /// Sub-wedges.
    #[sqlx(skip)]
    #[serde(rename = "ScreeningStrategySubWedge")]
    pub sub_wedges: Vec<models::ScreeningStrategySubWedge>,
}

async fn children<T>(db: &Db, table: &str, alias: &str, key: &str, ids: &[u32]) -> crate::Result<Vec<T>>
where
    T: for<'r> FromRow<'r, sqlx::mysql::MySqlRow> + Send + Unpin,
    T: HasMeta,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM {table} {alias} WHERE {alias}.{key} IN (",
        T::table().select(alias, db.flavour())
    ));
    push_ids(&mut q, ids);
    q.push(format_args!(") ORDER BY 1"));
    Ok(q.build_query_as().fetch_all(db.pool()).await?)
}

/// The table metadata behind a (possibly wrapping) row type.
trait HasMeta {
    fn table() -> &'static crate::meta::TableMeta;
}

impl HasMeta for ScreeningOutput {
    fn table() -> &'static crate::meta::TableMeta {
        <models::ScreeningOutput as Table>::meta()
    }
}
impl HasMeta for ScreeningStrategy {
    fn table() -> &'static crate::meta::TableMeta {
        <models::ScreeningStrategy as Table>::meta()
    }
}
impl HasMeta for ScreeningStrategyWedge {
    fn table() -> &'static crate::meta::TableMeta {
        <models::ScreeningStrategyWedge as Table>::meta()
    }
}
impl HasMeta for models::ScreeningStrategySubWedge {
    fn table() -> &'static crate::meta::TableMeta {
        <models::ScreeningStrategySubWedge as Table>::meta()
    }
}
impl HasMeta for models::ScreeningOutputLattice {
    fn table() -> &'static crate::meta::TableMeta {
        <models::ScreeningOutputLattice as Table>::meta()
    }
}

/// Visible screenings of a data collection (or of its group), with everything nested.
pub async fn screenings(
    db: &Db,
    access: &Access,
    data_collection_id: Option<u32>,
    page: Page,
) -> crate::Result<Paged<Screening>> {
    let push_where = |q: &mut QueryBuilder<MySql>| {
        q.push(
            " WHERE EXISTS (SELECT 1 FROM DataCollection dc JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
               JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId
               WHERE (dc.dataCollectionId = sc.dataCollectionId OR dc.dataCollectionGroupId = sc.dataCollectionGroupId)",
        );
        if let Some(id) = data_collection_id {
            q.push(" AND dc.dataCollectionId = ").push_bind(id);
        }
        access.push_filter(q, "p.proposalId", "s");
        q.push(")");
        if let Some(id) = data_collection_id {
            // The data collection's own screenings and its group's, found by index first.
            q.push(" AND (sc.dataCollectionId = ")
                .push_bind(id)
                .push(" OR sc.dataCollectionGroupId = (SELECT d.dataCollectionGroupId FROM DataCollection d WHERE d.dataCollectionId = ")
                .push_bind(id)
                .push("))");
        }
    };
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM Screening sc");
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM Screening sc",
        <models::Screening as Table>::meta().select("sc", db.flavour())
    ));
    push_where(&mut q);
    q.push(" ORDER BY sc.screeningId LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let mut screenings: Vec<Screening> = q.build_query_as().fetch_all(db.pool()).await?;
    let ids: Vec<u32> = screenings.iter().map(|s| s.base.screening_id).collect();
    let mut outputs: Vec<ScreeningOutput> = children(db, "ScreeningOutput", "so", "screeningId", &ids).await?;
    let out_ids: Vec<u32> = outputs.iter().map(|o| o.base.screening_output_id).collect();
    let lattices: Vec<models::ScreeningOutputLattice> =
        children(db, "ScreeningOutputLattice", "sol", "screeningOutputId", &out_ids).await?;
    let mut strategies: Vec<ScreeningStrategy> =
        children(db, "ScreeningStrategy", "ss", "screeningOutputId", &out_ids).await?;
    let st_ids: Vec<u32> = strategies.iter().map(|s| s.base.screening_strategy_id).collect();
    let mut wedges: Vec<ScreeningStrategyWedge> =
        children(db, "ScreeningStrategyWedge", "ssw", "screeningStrategyId", &st_ids).await?;
    let w_ids: Vec<u32> = wedges.iter().map(|w| w.base.screening_strategy_wedge_id).collect();
    let subs: Vec<models::ScreeningStrategySubWedge> =
        children(db, "ScreeningStrategySubWedge", "sssw", "screeningStrategyWedgeId", &w_ids).await?;
    for w in &mut wedges {
        w.sub_wedges = subs
            .iter()
            .filter(|s| s.screening_strategy_wedge_id == Some(w.base.screening_strategy_wedge_id))
            .cloned()
            .collect();
    }
    for s in &mut strategies {
        s.wedges = wedges
            .iter()
            .filter(|w| w.base.screening_strategy_id == Some(s.base.screening_strategy_id))
            .cloned()
            .collect();
    }
    for o in &mut outputs {
        let id = o.base.screening_output_id;
        o.strategies = strategies.iter().filter(|s| s.base.screening_output_id == id).cloned().collect();
        o.lattices = lattices.iter().filter(|l| l.screening_output_id == id).cloned().collect();
    }
    for s in &mut screenings {
        s.outputs = outputs.iter().filter(|o| o.base.screening_id == s.base.screening_id).cloned().collect();
    }
    Ok(Paged::new(screenings, total as u64, page))
}

/// A processing attachment with its download link.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ProgramAttachment {
    /// The `AutoProcProgramAttachment` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::AutoProcProgramAttachment,
    /// `importanceRank` (`dls` flavour).
    #[sqlx(rename = "importanceRank")]
    #[serde(rename = "importanceRank")]
    #[schema(value_type = Option<i64>)]
    pub importance_rank: Option<Int>,
    /// `url`: the download route.
    #[sqlx(skip)]
    #[serde(rename = "_metadata")]
    pub metadata: ProgramAttachmentMetadata,
}

/// `_metadata` of a processing attachment.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ProgramAttachmentMetadata {
    /// Download route.
    pub url: String,
}

/// Visible processing attachments.
pub async fn attachments(
    db: &Db,
    access: &Access,
    program_id: Option<u32>,
    attachment_id: Option<u32>,
    page: Page,
) -> crate::Result<Paged<ProgramAttachment>> {
    let push_where = |q: &mut QueryBuilder<MySql>| {
        if let Some(id) = program_id {
            q.push(" AND a.autoProcProgramId = ").push_bind(id);
        }
        if let Some(id) = attachment_id {
            q.push(" AND a.autoProcProgramAttachmentId = ").push_bind(id);
        }
        push_program_visible(q, db, access);
    };
    let from = " FROM AutoProcProgramAttachment a JOIN AutoProcProgram app ON app.autoProcProgramId = a.autoProcProgramId WHERE 1";
    let mut count = QueryBuilder::<MySql>::new(format!("SELECT COUNT(*){from}"));
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let rank = match db.flavour() {
        Flavour::Dls => "a.importanceRank",
        Flavour::Ispyb => "CAST(NULL AS SIGNED)",
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, {rank} AS importanceRank{from}",
        <models::AutoProcProgramAttachment as Table>::meta().select("a", db.flavour())
    ));
    push_where(&mut q);
    q.push(" ORDER BY a.autoProcProgramAttachmentId LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let rows = q.build_query_as().fetch_all(db.pool()).await?;
    Ok(Paged::new(rows, total as u64, page))
}
