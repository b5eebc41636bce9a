//! Energy scans (`v_energyScan`), XRF spectra (`v_xfeFluorescenceSpectrum`) and Java's
//! auto-processing view (`AutoProcessingIntegrationServiceBean`, over
//! `v_datacollection_autoprocintegration`), with Java's keys, as table joins.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::{MySql, QueryBuilder};

use super::{DateStyle, JsonRow, LegacyAccess, Select, fetch_json, has_column};
use crate::meta::Table;
use crate::sql::push_ids;
use crate::{Db, models};

fn restrict(q: &mut QueryBuilder<MySql>, access: &LegacyAccess, proposal_id: u32, session_ids: &[u32]) {
    q.push(" AND s.sessionId IN (");
    push_ids(q, session_ids);
    q.push(") AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(q, "s.proposalId", "s");
}

/// Energy scans of these sessions of the proposal, with their sample and protein.
pub async fn energy_scans(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    session_ids: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Select::new(db.flavour());
    s.same(
        <models::EnergyScan as Table>::meta(),
        "e",
        &[
            "energyScanId",
            "sessionId",
            "blSampleId",
            "fluorescenceDetector",
            "scanFileFullPath",
            "choochFileFullPath",
            "jpegChoochFileFullPath",
            "element",
            "startEnergy",
            "endEnergy",
            "transmissionFactor",
            "exposureTime",
            "synchrotronCurrent",
            "temperature",
            "peakEnergy",
            "peakFPrime",
            "peakFDoublePrime",
            "inflectionEnergy",
            "inflectionFPrime",
            "inflectionFDoublePrime",
            "xrayDose",
            "startTime",
            "endTime",
            "edgeEnergy",
            "filename",
            "beamSizeVertical",
            "beamSizeHorizontal",
            "crystalClass",
            "comments",
            "flux",
            "flux_end",
            "remoteEnergy",
            "remoteFPrime",
            "remoteFDoublePrime",
        ],
    );
    s.cols(
        <models::BlSample as Table>::meta(),
        "smp",
        &[("blSampleId", "BLSample_sampleId"), ("name", "name"), ("code", "code")],
    );
    s.cols(<models::Protein as Table>::meta(), "pr", &[("acronym", "acronym")]);
    s.cols(<models::BlSession as Table>::meta(), "s", &[("proposalId", "BLSession_proposalId")]);
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM EnergyScan e JOIN BLSession s ON s.sessionId = e.sessionId \
         LEFT JOIN BLSample smp ON smp.blSampleId = e.blSampleId LEFT JOIN Crystal cr ON cr.crystalId = smp.crystalId \
         LEFT JOIN Protein pr ON pr.proteinId = cr.proteinId WHERE 1",
        s.sql()
    ));
    restrict(&mut q, access, proposal_id, session_ids);
    q.push(" ORDER BY e.energyScanId DESC");
    fetch_json(db, q, dates).await
}

/// XRF spectra of these sessions of the proposal.
pub async fn xrf_spectra(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    session_ids: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Select::new(db.flavour());
    s.same(
        <models::XfeFluorescenceSpectrum as Table>::meta(),
        "x",
        &[
            "xfeFluorescenceSpectrumId",
            "sessionId",
            "blSampleId",
            "fittedDataFileFullPath",
            "scanFileFullPath",
            "jpegScanFileFullPath",
            "startTime",
            "endTime",
            "filename",
            "energy",
            "exposureTime",
            "beamTransmission",
            "annotatedPymcaXfeSpectrum",
            "beamSizeVertical",
            "beamSizeHorizontal",
            "crystalClass",
            "comments",
            "flux",
            "flux_end",
            "workingDirectory",
        ],
    );
    s.cols(<models::BlSample as Table>::meta(), "smp", &[("blSampleId", "BLSample_sampleId")]);
    s.cols(<models::BlSession as Table>::meta(), "s", &[("proposalId", "BLSession_proposalId")]);
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM XFEFluorescenceSpectrum x JOIN BLSession s ON s.sessionId = x.sessionId \
         LEFT JOIN BLSample smp ON smp.blSampleId = x.blSampleId WHERE 1",
        s.sql()
    ));
    restrict(&mut q, access, proposal_id, session_ids);
    q.push(" ORDER BY x.xfeFluorescenceSpectrumId DESC");
    fetch_json(db, q, dates).await
}

/// Per-scaling comma lists of `AutoProcScalingStatistics` (Java's correlated `GROUP_CONCAT`s).
const STATISTICS_LISTS: &[&str] = &[
    "scalingStatisticsType",
    "resolutionLimitLow",
    "resolutionLimitHigh",
    "completeness",
    "multiplicity",
    "ccHalf",
    "meanIOverSigI",
    "anomalousCompleteness",
    "rMerge",
    "rMeasWithinIPlusIMinus",
    "rMeasAllIPlusIMinus",
    "rPimWithinIPlusIMinus",
    "rPimAllIPlusIMinus",
    "fractionalPartialBias",
    "nTotalObservations",
    "nTotalUniqueObservations",
    "anomalous",
    "sigAno",
    "ccAno",
    "isa",
];

const PHASING_LISTS: &[&str] = &["phasingStepType", "spaceGroupIds", "spaceGroupShortName"];

/// Java's auto-processing view for each collection of the proposal: one list per id, each
/// with a row per integration and scaling, and that scaling's statistics as comma lists.
/// Java repeated a row for every phasing step of the scaling; here there is one row, with
/// the first phasing step's type and space group.
pub async fn autoproc_view(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    dc_ids: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<Vec<JsonRow>>> {
    if dc_ids.is_empty() {
        return Ok(Vec::new());
    }
    let first_step = |col: &str| {
        format!(
            "(SELECT {col} FROM PhasingStep ps LEFT JOIN SpaceGroup sg ON sg.spaceGroupId = ps.spaceGroupId \
             WHERE ps.autoProcScalingId = aps.autoProcScalingId ORDER BY ps.phasingStepId LIMIT 1)"
        )
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT api.autoProcIntegrationId AS v_datacollection_summary_phasing_autoProcIntegrationId,
           api.dataCollectionId AS v_datacollection_summary_phasing_dataCollectionId,
           api.cell_a AS v_datacollection_summary_phasing_cell_a, api.cell_b AS v_datacollection_summary_phasing_cell_b,
           api.cell_c AS v_datacollection_summary_phasing_cell_c,
           api.cell_alpha AS v_datacollection_summary_phasing_cell_alpha,
           api.cell_beta AS v_datacollection_summary_phasing_cell_beta,
           api.cell_gamma AS v_datacollection_summary_phasing_cell_gamma,
           api.anomalous AS v_datacollection_summary_phasing_anomalous,
           ap.spaceGroup AS v_datacollection_summary_phasing_autoproc_space_group,
           ap.autoProcId AS v_datacollection_summary_phasing_autoproc_autoprocId,
           aps.autoProcScalingId AS v_datacollection_summary_phasing_autoProcScalingId,
           app.processingPrograms AS v_datacollection_processingPrograms,
           app.autoProcProgramId AS v_datacollection_summary_phasing_autoProcProgramId,
           app.processingStatus AS v_datacollection_processingStatus,
           app.processingStartTime AS v_datacollection_processingStartTime,
           app.processingEndTime AS v_datacollection_processingEndTime,
           s.sessionId AS v_datacollection_summary_session_sessionId,
           s.proposalId AS v_datacollection_summary_session_proposalId,
           api.dataCollectionId AS AutoProcIntegration_dataCollectionId,
           api.autoProcIntegrationId AS AutoProcIntegration_autoProcIntegrationId,
           {} AS PhasingStep_phasing_phasingStepType, {} AS SpaceGroup_spaceGroupShortName,
           pr.proteinId AS Protein_proteinId, pr.acronym AS Protein_acronym, smp.name AS BLSample_name,
           dc.dataCollectionNumber AS DataCollection_dataCollectionNumber, dc.imagePrefix AS DataCollection_imagePrefix
         FROM AutoProcIntegration api
         JOIN DataCollection dc ON dc.dataCollectionId = api.dataCollectionId
         JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN BLSession s ON s.sessionId = g.sessionId
         LEFT JOIN AutoProcScaling_has_Int shi ON shi.autoProcIntegrationId = api.autoProcIntegrationId
         LEFT JOIN AutoProcScaling aps ON aps.autoProcScalingId = shi.autoProcScalingId
         LEFT JOIN AutoProcProgram app ON app.autoProcProgramId = api.autoProcProgramId
         LEFT JOIN AutoProc ap ON ap.autoProcProgramId = api.autoProcProgramId
         LEFT JOIN BLSample smp ON smp.blSampleId = g.blSampleId
         LEFT JOIN Crystal cr ON cr.crystalId = smp.crystalId
         LEFT JOIN Protein pr ON pr.proteinId = cr.proteinId
         WHERE api.dataCollectionId IN (",
        first_step("ps.phasingStepType"),
        first_step("sg.spaceGroupShortName"),
    ));
    push_ids(&mut q, dc_ids);
    q.push(") AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(" ORDER BY api.autoProcIntegrationId, aps.autoProcScalingId");
    let mut rows = fetch_json(db, q, dates).await?;

    let scaling_ids: Vec<u32> = {
        let mut ids: Vec<u32> = rows
            .iter()
            .filter_map(|r| r.get("v_datacollection_summary_phasing_autoProcScalingId")?.as_u64())
            .filter_map(|v| u32::try_from(v).ok())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut lists: HashMap<u64, JsonRow> = HashMap::new();
    if !scaling_ids.is_empty() {
        let stats = <models::AutoProcScalingStatistics as Table>::meta();
        let cols = STATISTICS_LISTS
            .iter()
            .map(|c| {
                if has_column(stats, c, db.flavour()) {
                    format!("GROUP_CONCAT(st.`{c}` ORDER BY st.autoProcScalingStatisticsId) AS `{c}`")
                } else {
                    format!("NULL AS `{c}`")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT st.autoProcScalingId AS id, {cols} FROM AutoProcScalingStatistics st WHERE st.autoProcScalingId IN ("
        ));
        push_ids(&mut q, &scaling_ids);
        q.push(") GROUP BY st.autoProcScalingId");
        for mut r in fetch_json(db, q, dates).await? {
            if let Some(id) = r.remove("id").and_then(|v| v.as_u64()) {
                lists.insert(id, r);
            }
        }
        let mut q = QueryBuilder::<MySql>::new(
            "SELECT ps.autoProcScalingId AS id, GROUP_CONCAT(ps.phasingStepType ORDER BY ps.phasingStepId) AS phasingStepType,
               GROUP_CONCAT(ps.spaceGroupId ORDER BY ps.phasingStepId) AS spaceGroupIds,
               GROUP_CONCAT(sg.spaceGroupShortName ORDER BY ps.phasingStepId) AS spaceGroupShortName
             FROM PhasingStep ps LEFT JOIN SpaceGroup sg ON sg.spaceGroupId = ps.spaceGroupId
             WHERE ps.autoProcScalingId IN (",
        );
        push_ids(&mut q, &scaling_ids);
        q.push(") GROUP BY ps.autoProcScalingId");
        for mut r in fetch_json(db, q, dates).await? {
            if let Some(id) = r.remove("id").and_then(|v| v.as_u64()) {
                lists.entry(id).or_default().extend(r);
            }
        }
    }
    for row in &mut rows {
        let found = row.get("v_datacollection_summary_phasing_autoProcScalingId").and_then(Value::as_u64);
        let extra = found.and_then(|id| lists.get(&id));
        for key in PHASING_LISTS.iter().chain(STATISTICS_LISTS) {
            row.insert((*key).to_string(), extra.and_then(|e| e.get(*key)).cloned().unwrap_or(Value::Null));
        }
    }
    Ok(dc_ids
        .iter()
        .map(|id| {
            rows.iter()
                .filter(|r| r["v_datacollection_summary_phasing_dataCollectionId"].as_u64() == Some(u64::from(*id)))
                .cloned()
                .collect()
        })
        .collect())
}
