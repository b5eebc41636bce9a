//! Java's phasing lists (`PhasingRestWsServiceBean`, over `v_phasing`): one row per phasing
//! step reached from a collection of the proposal, with Java's keys, the step's statistics and
//! its program run's attachments (split by extension) as comma lists; and the files of steps.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::{MySql, QueryBuilder};

use super::{DateStyle, JsonRow, LegacyAccess, Select, fetch_json};
use crate::meta::{Flavour, Table};
use crate::sql::push_ids;
use crate::{Db, models};

/// What the ids of a phasing list are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhasingBy {
    /// `autoprocintegrationid`.
    AutoProcIntegration,
    /// `datacollectionid`.
    DataCollection,
    /// `datacollectiongroupid`.
    DataCollectionGroup,
    /// `sampleid`.
    Sample,
    /// `proteinid`.
    Protein,
    /// `sessionid`.
    Session,
    /// `phasingstepid`.
    PhasingStep,
}

impl PhasingBy {
    fn column(self) -> &'static str {
        match self {
            PhasingBy::AutoProcIntegration => "api.autoProcIntegrationId",
            PhasingBy::DataCollection => "dc.dataCollectionId",
            PhasingBy::DataCollectionGroup => "dc.dataCollectionGroupId",
            PhasingBy::Sample => "smp.blSampleId",
            PhasingBy::Protein => "pr.proteinId",
            PhasingBy::Session => "s.sessionId",
            PhasingBy::PhasingStep => "ps.phasingStepId",
        }
    }
}

const FROM: &str = " FROM DataCollection dc
    JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId
    JOIN BLSession s ON s.sessionId = g.sessionId
    JOIN AutoProcIntegration api ON api.dataCollectionId = dc.dataCollectionId
    JOIN AutoProcScaling_has_Int shi ON shi.autoProcIntegrationId = api.autoProcIntegrationId
    JOIN PhasingStep ps ON ps.autoProcScalingId = shi.autoProcScalingId
    LEFT JOIN SpaceGroup sg ON sg.spaceGroupId = ps.spaceGroupId
    LEFT JOIN PhasingProgramRun run ON run.phasingProgramRunId = ps.programRunId
    LEFT JOIN BLSample smp ON smp.blSampleId = g.blSampleId
    LEFT JOIN Crystal cr ON cr.crystalId = smp.crystalId
    LEFT JOIN Protein pr ON pr.proteinId = cr.proteinId
    WHERE 1";

fn select(flavour: Flavour) -> String {
    let mut s = Select::new(flavour);
    s.expr("ps.phasingStepId", "id");
    s.cols(<models::BlSample as Table>::meta(), "smp", &[("blSampleId", "BLSample_blSampleId")]);
    s.prefixed(
        <models::AutoProcIntegration as Table>::meta(),
        "api",
        "AutoProcIntegration",
        &[
            "autoProcIntegrationId",
            "dataCollectionId",
            "autoProcProgramId",
            "startImageNumber",
            "endImageNumber",
            "refinedDetectorDistance",
            "refinedXBeam",
            "refinedYBeam",
            "rotationAxisX",
            "rotationAxisY",
            "rotationAxisZ",
            "beamVectorX",
            "beamVectorY",
            "beamVectorZ",
            "cell_a",
            "cell_b",
            "cell_c",
            "cell_alpha",
            "cell_beta",
            "cell_gamma",
            "recordTimeStamp",
            "anomalous",
        ],
    );
    for c in [
        "spaceGroupId",
        "geometryClassnameId",
        "spaceGroupNumber",
        "spaceGroupShortName",
        "spaceGroupName",
        "bravaisLattice",
        "bravaisLatticeName",
        "pointGroup",
        "MX_used",
    ] {
        s.expr(&format!("sg.`{c}`"), &format!("SpaceGroup_{c}"));
    }
    for c in [
        "phasingStepId",
        "previousPhasingStepId",
        "programRunId",
        "spaceGroupId",
        "autoProcScalingId",
        "phasingAnalysisId",
        "phasingStepType",
        "method",
        "solventContent",
        "enantiomorph",
        "lowRes",
        "highRes",
        "recordTimeStamp",
    ] {
        s.expr(&format!("ps.`{c}`"), &format!("PhasingStep_{c}"));
    }
    s.prefixed(<models::DataCollection as Table>::meta(), "dc", "DataCollection", super::collections::DC_COLUMNS);
    for c in [
        "phasingProgramRunId",
        "phasingCommandLine",
        "phasingPrograms",
        "phasingStatus",
        "phasingMessage",
        "phasingStartTime",
        "phasingEndTime",
        "phasingEnvironment",
        "phasingDirectory",
        "recordTimeStamp",
    ] {
        // `phasingDirectory` is only in the ispyb flavour.
        let expr =
            if c == "phasingDirectory" && flavour != Flavour::Ispyb { "NULL".into() } else { format!("run.`{c}`") };
        s.expr(&expr, &format!("PhasingProgramRun_{c}"));
    }
    s.cols(<models::Protein as Table>::meta(), "pr", &[("proteinId", "Protein_proteinId")]);
    s.cols(
        <models::BlSession as Table>::meta(),
        "s",
        &[("sessionId", "BLSession_sessionId"), ("proposalId", "BLSession_proposalId")],
    );
    s.sql()
}

/// Java's phasing list: for each id, the phasing steps reached from collections of the
/// proposal in sessions the caller may see (an array per id, in the order of the ids).
pub async fn list(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    by: PhasingBy,
    ids: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<Vec<JsonRow>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let key = by.column();
    let mut q = QueryBuilder::<MySql>::new(format!("SELECT {key} AS byId, {}", select(db.flavour())));
    q.push(FROM);
    q.push(format_args!(" AND {key} IN ("));
    push_ids(&mut q, ids);
    q.push(") AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(" ORDER BY ps.phasingStepId");
    let mut rows = fetch_json(db, q, dates).await?;
    // One row per step and id (a step reached through several integrations appears once).
    let mut seen = std::collections::HashSet::new();
    rows.retain(|r| seen.insert((r["byId"].as_u64(), r["id"].as_u64())));
    let steps: Vec<u32> = {
        let mut v: Vec<u32> =
            rows.iter().filter_map(|r| r["id"].as_u64()).filter_map(|v| u32::try_from(v).ok()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let runs: Vec<u32> = {
        let mut v: Vec<u32> = rows
            .iter()
            .filter_map(|r| r["PhasingProgramRun_phasingProgramRunId"].as_u64())
            .filter_map(|v| u32::try_from(v).ok())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let statistics = statistics(db, &steps, dates).await?;
    let attachments = run_attachments(db, &runs, dates).await?;
    for row in &mut rows {
        let stats = row["id"].as_u64().and_then(|id| statistics.get(&id));
        for k in STATISTICS {
            row.insert((*k).into(), stats.and_then(|s| s.get(*k)).cloned().unwrap_or(Value::Null));
        }
        let files = row["PhasingProgramRun_phasingProgramRunId"].as_u64().and_then(|id| attachments.get(&id));
        for k in ATTACHMENTS {
            row.insert((*k).into(), files.and_then(|s| s.get(*k)).cloned().unwrap_or(Value::Null));
        }
        row.remove("id");
    }
    Ok(ids
        .iter()
        .map(|id| {
            rows.iter()
                .filter(|r| r["byId"].as_u64() == Some(u64::from(*id)))
                .map(|r| {
                    let mut r = r.clone();
                    r.remove("byId");
                    r
                })
                .collect()
        })
        .collect())
}

const STATISTICS: &[&str] = &[
    "PhasingStatistics_phasingStatisticsId",
    "PhasingStatistics_metric",
    "PhasingStatistics_statisticsValue",
    "PhasingStatistics_phasingStatisticsIds",
    "metric",
    "statisticsValue",
];

async fn statistics(db: &Db, steps: &[u32], dates: DateStyle) -> crate::Result<HashMap<u64, JsonRow>> {
    let mut out = HashMap::new();
    if steps.is_empty() {
        return Ok(out);
    }
    let order = "ORDER BY st.phasingStatisticsId";
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT st.phasingStepId AS id, MIN(st.phasingStatisticsId) AS PhasingStatistics_phasingStatisticsId,
           SUBSTRING_INDEX(GROUP_CONCAT(st.metric {order} SEPARATOR '\\n'), '\\n', 1) AS PhasingStatistics_metric,
           CAST(SUBSTRING_INDEX(GROUP_CONCAT(st.statisticsValue {order} SEPARATOR '\\n'), '\\n', 1) AS DOUBLE)
             AS PhasingStatistics_statisticsValue,
           GROUP_CONCAT(st.phasingStatisticsId {order} SEPARATOR ', ') AS PhasingStatistics_phasingStatisticsIds,
           GROUP_CONCAT(st.metric {order} SEPARATOR ', ') AS metric,
           GROUP_CONCAT(st.statisticsValue {order} SEPARATOR ', ') AS statisticsValue
         FROM PhasingStatistics st WHERE st.phasingStepId IN ("
    ));
    push_ids(&mut q, steps);
    q.push(") GROUP BY st.phasingStepId");
    for mut r in fetch_json(db, q, dates).await? {
        if let Some(id) = r.remove("id").and_then(|v| v.as_u64()) {
            out.insert(id, r);
        }
    }
    Ok(out)
}

const ATTACHMENTS: &[&str] = &[
    "csv",
    "map",
    "pdb",
    "mapFileName",
    "pdbFileName",
    "csvFileName",
    "png",
    "phasingProgramAttachmentId",
    "fileType",
];

async fn run_attachments(db: &Db, runs: &[u32], dates: DateStyle) -> crate::Result<HashMap<u64, JsonRow>> {
    let mut out = HashMap::new();
    if runs.is_empty() {
        return Ok(out);
    }
    let list = |col: &str, ext: &str, key: &str| {
        format!(
            "GROUP_CONCAT(CASE WHEN a.fileName LIKE '%.{ext}%' THEN a.{col} END ORDER BY a.phasingProgramAttachmentId) AS `{key}`"
        )
    };
    let cols = [
        list("phasingProgramAttachmentId", "csv", "csv"),
        list("phasingProgramAttachmentId", "map", "map"),
        list("phasingProgramAttachmentId", "pdb", "pdb"),
        list("fileName", "map", "mapFileName"),
        list("fileName", "pdb", "pdbFileName"),
        list("fileName", "csv", "csvFileName"),
        list("phasingProgramAttachmentId", "png", "png"),
        list("phasingProgramAttachmentId", "png", "phasingProgramAttachmentId"),
        list("fileType", "png", "fileType"),
    ]
    .join(", ");
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT a.phasingProgramRunId AS id, {cols} FROM PhasingProgramAttachment a WHERE a.phasingProgramRunId IN ("
    ));
    push_ids(&mut q, runs);
    q.push(") GROUP BY a.phasingProgramRunId");
    for mut r in fetch_json(db, q, dates).await? {
        if let Some(id) = r.remove("id").and_then(|v| v.as_u64()) {
            out.insert(id, r);
        }
    }
    Ok(out)
}

/// The files of these phasing steps of the proposal (Java's
/// `v_datacollection_phasing_program_run` rows), an array per step id.
pub async fn step_files(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    steps: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<Vec<JsonRow>>> {
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT DISTINCT ps.phasingStepId, ps.previousPhasingStepId, ps.phasingAnalysisId,
           api.autoProcIntegrationId, api.dataCollectionId, ap.autoProcId, ps.phasingStepType, ps.method,
           shi.autoProcScalingId, sg.spaceGroupShortName, run.phasingPrograms, run.phasingStatus, g.sessionId,
           s.proposalId, smp.blSampleId, smp.name, smp.code, pr.acronym, pr.proteinId, a.phasingProgramAttachmentId,
           a.fileType, a.fileName, a.filePath",
    );
    q.push(FROM.replace(
        "LEFT JOIN PhasingProgramRun run ON run.phasingProgramRunId = ps.programRunId",
        "LEFT JOIN PhasingProgramRun run ON run.phasingProgramRunId = ps.programRunId
         LEFT JOIN AutoProc ap ON ap.autoProcProgramId = api.autoProcProgramId
         JOIN PhasingProgramAttachment a ON a.phasingProgramRunId = run.phasingProgramRunId",
    ));
    q.push(" AND ps.phasingStepId IN (");
    push_ids(&mut q, steps);
    q.push(") AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(" ORDER BY ps.phasingStepId, a.phasingProgramAttachmentId");
    let rows = fetch_json(db, q, dates).await?;
    Ok(steps
        .iter()
        .map(|id| rows.iter().filter(|r| r["phasingStepId"].as_u64() == Some(u64::from(*id))).cloned().collect())
        .collect())
}

/// One phasing program attachment of the proposal: `(filePath, fileName)`.
pub async fn attachment(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    attachment_id: u32,
) -> crate::Result<Option<(Option<String>, Option<String>)>> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT a.filePath, a.fileName FROM PhasingProgramAttachment a WHERE a.phasingProgramAttachmentId = ",
    );
    q.push_bind(attachment_id);
    q.push(" AND a.phasingProgramRunId IN (SELECT ps.programRunId");
    q.push(FROM);
    q.push(" AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(") LIMIT 1");
    Ok(q.build_query_as::<(Option<String>, Option<String>)>().fetch_optional(db.pool()).await?)
}

/// The attachment files of these phasing steps of the proposal: `(filePath, fileName)`.
pub async fn step_attachments(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    steps: &[u32],
) -> crate::Result<Vec<(Option<String>, Option<String>)>> {
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT a.filePath, a.fileName FROM PhasingProgramAttachment a WHERE a.phasingProgramRunId IN (SELECT ps.programRunId",
    );
    q.push(FROM);
    q.push(" AND ps.phasingStepId IN (");
    push_ids(&mut q, steps);
    q.push(") AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(") ORDER BY a.phasingProgramAttachmentId");
    Ok(q.build_query_as::<(Option<String>, Option<String>)>().fetch_all(db.pool()).await?)
}
