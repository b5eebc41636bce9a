//! Java's MX data collection lists: the DC-group query (`DataCollectionGroupRestWsServiceBean`,
//! one row per group with its latest collection, over `v_datacollection_summary`) and the DC
//! query (`DataCollectionRestWsServiceBean`, one row per collection, over `v_datacollection`),
//! with Java's keys.
//!
//! The views multiply rows (every auto-processing statistics row, every screening row) and the
//! Java query regroups them with MariaDB's loose `GROUP BY`. Here the base rows are read once,
//! then the per-collection and per-group extras (auto-processing, screening, workflow steps,
//! images, phasing, the group's collections) are read with one indexed statement each for the
//! whole list and merged by id: a fixed number of statements whatever the number of rows.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::{MySql, QueryBuilder};

use super::{DateStyle, JsonRow, LegacyAccess, Select, fetch_json, has_column, has_table};
use crate::meta::{Flavour, Table};
use crate::sql::push_ids;
use crate::{Db, models};

/// Which groups the DC-group query lists.
#[derive(Debug, Clone)]
pub enum GroupsBy {
    /// The groups of these sessions (each with its latest collection), newest collection
    /// first within each session, sessions in the given order.
    Sessions(Vec<u32>),
    /// These collections (each with its group), in the given order. Java found a collection
    /// only when it was the latest of its group; here every collection is found.
    DataCollections(Vec<u32>),
}

fn group_select(flavour: Flavour) -> String {
    let mut s = Select::new(flavour);
    s.prefixed(
        <models::DataCollectionGroup as Table>::meta(),
        "g",
        "DataCollectionGroup",
        &[
            "dataCollectionGroupId",
            "blSampleId",
            "sessionId",
            "workflowId",
            "experimentType",
            "startTime",
            "endTime",
            "comments",
            "actualSampleBarcode",
            "xtalSnapshotFullPath",
            "crystalClass",
        ],
    );
    s.prefixed(
        <models::BlSample as Table>::meta(),
        "smp",
        "BLSample",
        &["blSampleId", "crystalId", "name", "code", "location", "blSampleStatus", "comments"],
    );
    s.prefixed(<models::Container as Table>::meta(), "c", "Container", &["containerId"]);
    s.prefixed(<models::BlSession as Table>::meta(), "s", "BLSession", &["sessionId", "proposalId", "protectedData"]);
    s.prefixed(<models::Dewar as Table>::meta(), "d", "Dewar", &["dewarId", "code", "storageLocation"]);
    s.prefixed(
        <models::Container as Table>::meta(),
        "c",
        "Container",
        &["containerType", "code", "capacity", "beamlineLocation", "sampleChangerLocation"],
    );
    s.prefixed(<models::Protein as Table>::meta(), "pr", "Protein", &["proteinId", "name", "acronym"]);
    let dc = <models::DataCollection as Table>::meta();
    s.prefixed(
        dc,
        "dc",
        "DataCollection",
        &[
            "dataCollectionId",
            "dataCollectionGroupId",
            "startTime",
            "endTime",
            "runStatus",
            "numberOfImages",
            "startImageNumber",
            "numberOfPasses",
            "exposureTime",
            "imageDirectory",
            "wavelength",
            "resolution",
            "detectorDistance",
            "xBeam",
        ],
    );
    s.same(dc, "dc", &["transmission"]);
    s.prefixed(
        dc,
        "dc",
        "DataCollection",
        &[
            "yBeam",
            "imagePrefix",
            "comments",
            "xtalSnapshotFullPath1",
            "xtalSnapshotFullPath2",
            "xtalSnapshotFullPath3",
            "xtalSnapshotFullPath4",
            "phiStart",
            "kappaStart",
            "omegaStart",
            "flux",
            "flux_end",
            "resolutionAtCorner",
            "bestWilsonPlotPath",
            "dataCollectionNumber",
            "axisRange",
            "axisStart",
            "axisEnd",
            "rotationAxis",
            "undulatorGap1",
            "undulatorGap2",
            "undulatorGap3",
        ],
    );
    s.same(dc, "dc", &["beamSizeAtSampleX", "beamSizeAtSampleY"]);
    s.prefixed(
        dc,
        "dc",
        "DataCollection",
        &["slitGapVertical", "slitGapHorizontal", "beamShape", "voltage", "xBeamPix"],
    );
    s.prefixed(
        <models::Workflow as Table>::meta(),
        "w",
        "Workflow",
        &["workflowTitle", "workflowType", "status", "workflowId"],
    );
    s.prefixed(
        <models::Shipping as Table>::meta(),
        "sh",
        "Shipping",
        &["shippingId", "shippingName", "shippingStatus"],
    );
    let dp = <models::DiffractionPlan as Table>::meta();
    s.same(
        dp,
        "dp",
        &[
            "diffractionPlanId",
            "experimentKind",
            "observedResolution",
            "minimalResolution",
            "exposureTime",
            "oscillationRange",
            "maximalResolution",
            "screeningResolution",
            "radiationSensitivity",
            "anomalousScatterer",
            "preferredBeamSizeX",
            "preferredBeamSizeY",
            "preferredBeamDiameter",
        ],
    );
    // Java's spelling.
    s.cols(dp, "dp", &[("comments", "DiffractipnPlan_comments")]);
    s.same(
        dp,
        "dp",
        &[
            "aimedCompleteness",
            "aimedIOverSigmaAtHighestRes",
            "aimedMultiplicity",
            "aimedResolution",
            "anomalousData",
            "complexity",
            "estimateRadiationDamage",
            "forcedSpaceGroup",
            "requiredCompleteness",
            "requiredMultiplicity",
            "requiredResolution",
            "strategyOption",
            "kappaStrategyOption",
            "numberOfPositions",
            "minDimAccrossSpindleAxis",
            "maxDimAccrossSpindleAxis",
            "radiationSensitivityBeta",
            "radiationSensitivityGamma",
            "minOscWidth",
        ],
    );
    s.prefixed(
        <models::Detector as Table>::meta(),
        "det",
        "Detector",
        &[
            "detectorType",
            "detectorManufacturer",
            "detectorModel",
            "detectorPixelSizeHorizontal",
            "detectorPixelSizeVertical",
            "detectorSerialNumber",
            "detectorDistanceMin",
            "detectorDistanceMax",
            "trustedPixelValueRangeLower",
            "trustedPixelValueRangeUpper",
            "sensorThickness",
            "overload",
            "XGeoCorr",
            "YGeoCorr",
            "detectorMode",
        ],
    );
    s.prefixed(
        <models::BeamLineSetup as Table>::meta(),
        "bls",
        "BeamLineSetup",
        &[
            "undulatorType1",
            "undulatorType2",
            "undulatorType3",
            "synchrotronName",
            "synchrotronMode",
            "polarisation",
            "focusingOptic",
            "beamDivergenceHorizontal",
            "beamDivergenceVertical",
            "monochromatorType",
        ],
    );
    s.sql()
}

/// Joins from a group to everything its row shows, after the `DataCollection dc` join.
fn group_joins(flavour: Flavour) -> String {
    let mut joins = String::from(
        " JOIN BLSession s ON s.sessionId = g.sessionId
          LEFT JOIN BeamLineSetup bls ON bls.beamLineSetupId = s.beamLineSetupId
          LEFT JOIN Detector det ON det.detectorId = dc.detectorId
          LEFT JOIN BLSample smp ON smp.blSampleId = g.blSampleId
          LEFT JOIN DiffractionPlan dp ON dp.diffractionPlanId = smp.diffractionPlanId
          LEFT JOIN Container c ON c.containerId = smp.containerId
          LEFT JOIN Dewar d ON d.dewarId = c.dewarId
          LEFT JOIN Shipping sh ON sh.shippingId = d.shippingId
          LEFT JOIN Crystal cr ON cr.crystalId = smp.crystalId
          LEFT JOIN Protein pr ON pr.proteinId = cr.proteinId",
    );
    if has_column(<models::DataCollectionGroup as Table>::meta(), "workflowId", flavour)
        && has_table(<models::Workflow as Table>::meta(), flavour)
    {
        joins.push_str(" LEFT JOIN Workflow w ON w.workflowId = g.workflowId");
    }
    joins
}

fn push_field(q: &mut QueryBuilder<MySql>, column: &str, ids: &[u32]) {
    q.push(format_args!("FIELD({column}, "));
    push_ids(q, ids);
    q.push(")");
}

/// Java's DC-group query for one proposal, rows of sessions the caller may see only.
pub async fn groups(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    by: &GroupsBy,
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    let flavour = db.flavour();
    let mut q = QueryBuilder::<MySql>::new(format!("SELECT {} FROM DataCollectionGroup g", group_select(flavour)));
    match by {
        GroupsBy::Sessions(ids) => {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            q.push(
                " LEFT JOIN DataCollection dc ON dc.dataCollectionId = (SELECT MAX(dc2.dataCollectionId) \
                 FROM DataCollection dc2 WHERE dc2.dataCollectionGroupId = g.dataCollectionGroupId)",
            );
            q.push(group_joins(flavour));
            q.push(" WHERE g.sessionId IN (");
            push_ids(&mut q, ids);
            q.push(")");
        }
        GroupsBy::DataCollections(ids) => {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            q.push(" JOIN DataCollection dc ON dc.dataCollectionGroupId = g.dataCollectionGroupId");
            q.push(group_joins(flavour));
            q.push(" WHERE dc.dataCollectionId IN (");
            push_ids(&mut q, ids);
            q.push(")");
        }
    }
    q.push(" AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(" ORDER BY ");
    match by {
        GroupsBy::Sessions(ids) => {
            push_field(&mut q, "g.sessionId", ids);
            q.push(", dc.startTime DESC, g.dataCollectionGroupId DESC");
        }
        GroupsBy::DataCollections(ids) => push_field(&mut q, "dc.dataCollectionId", ids),
    }
    let mut rows = fetch_json(db, q, dates).await?;
    if rows.is_empty() {
        return Ok(rows);
    }
    let dc_ids = ids_of(&rows, "DataCollection_dataCollectionId");
    let group_ids = ids_of(&rows, "DataCollectionGroup_dataCollectionGroupId");
    let workflow_ids = ids_of(&rows, "Workflow_workflowId");

    let (first, lists) = autoproc(db, &dc_ids, false, dates).await?;
    merge(&mut rows, "DataCollection_dataCollectionId", &first, AUTOPROC_FIRST);
    merge(&mut rows, "DataCollection_dataCollectionId", &lists, AUTOPROC_LISTS);
    merge(&mut rows, "DataCollectionGroup_dataCollectionGroupId", &screening(db, &group_ids, dates).await?, SCREENING);
    merge(&mut rows, "Workflow_workflowId", &workflow_steps(db, &workflow_ids).await?, WORKFLOW_STEPS);
    let phasing = phasing(db, &group_ids, "dc.dataCollectionGroupId").await?;
    merge(&mut rows, "DataCollectionGroup_dataCollectionGroupId", &phasing, PHASING);
    merge(&mut rows, "DataCollectionGroup_dataCollectionGroupId", &group_collections(db, &group_ids).await?, GROUP_DCS);
    merge(&mut rows, "DataCollection_dataCollectionId", &images(db, &dc_ids).await?, IMAGES);
    for row in &mut rows {
        for key in ["hasPhasing", "hasMR", "totalNumberOfDataCollections", "numberOfGridSquares"] {
            if row.get(key).is_none_or(Value::is_null) {
                row.insert(key.into(), Value::from(0));
            }
        }
    }
    Ok(rows)
}

pub(crate) const DC_COLUMNS: &[&str] = &[
    "dataCollectionId",
    "dataCollectionGroupId",
    "strategySubWedgeOrigId",
    "detectorId",
    "blSubSampleId",
    "dataCollectionNumber",
    "startTime",
    "endTime",
    "runStatus",
    "axisStart",
    "axisEnd",
    "axisRange",
    "overlap",
    "numberOfImages",
    "startImageNumber",
    "numberOfPasses",
    "exposureTime",
    "imageDirectory",
    "imagePrefix",
    "imageSuffix",
    "fileTemplate",
    "wavelength",
    "resolution",
    "detectorDistance",
    "xBeam",
    "yBeam",
    "xBeamPix",
    "yBeamPix",
    "comments",
    "printableForReport",
    "slitGapVertical",
    "slitGapHorizontal",
    "transmission",
    "synchrotronMode",
    "xtalSnapshotFullPath1",
    "xtalSnapshotFullPath2",
    "xtalSnapshotFullPath3",
    "xtalSnapshotFullPath4",
    "rotationAxis",
    "phiStart",
    "kappaStart",
    "omegaStart",
    "resolutionAtCorner",
    "detector2Theta",
    "undulatorGap1",
    "undulatorGap2",
    "undulatorGap3",
    "beamSizeAtSampleX",
    "beamSizeAtSampleY",
    "centeringMethod",
    "averageTemperature",
    "actualCenteringPosition",
    "beamShape",
    "flux",
    "flux_end",
    "totalAbsorbedDose",
    "bestWilsonPlotPath",
    "imageQualityIndicatorsPlotPath",
    "imageQualityIndicatorsCSVPath",
];

/// Java's DC query: every collection of these groups of the proposal, one row each.
pub async fn by_groups(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    group_ids: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    if group_ids.is_empty() {
        return Ok(Vec::new());
    }
    let flavour = db.flavour();
    let mut s = Select::new(flavour);
    s.same(<models::DataCollection as Table>::meta(), "dc", DC_COLUMNS);
    s.cols(<models::BlSession as Table>::meta(), "s", &[("sessionId", "sessionId"), ("proposalId", "proposalId")]);
    s.cols(<models::DataCollectionGroup as Table>::meta(), "g", &[("workflowId", "workflowId")]);
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM DataCollection dc JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId \
         JOIN BLSession s ON s.sessionId = g.sessionId WHERE dc.dataCollectionGroupId IN (",
        s.sql()
    ));
    push_ids(&mut q, group_ids);
    q.push(") AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(" ORDER BY ");
    push_field(&mut q, "dc.dataCollectionGroupId", group_ids);
    q.push(", dc.startTime DESC, dc.dataCollectionId DESC");
    let mut rows = fetch_json(db, q, dates).await?;
    if rows.is_empty() {
        return Ok(rows);
    }
    let dc_ids = ids_of(&rows, "dataCollectionId");
    let group_ids = ids_of(&rows, "dataCollectionGroupId");
    let (first, lists) = autoproc(db, &dc_ids, true, dates).await?;
    merge(&mut rows, "dataCollectionId", &first, AUTOPROC_FIRST_DC);
    merge(&mut rows, "dataCollectionId", &lists, AUTOPROC_LISTS_DC);
    let screening = screening(db, &group_ids, dates).await?;
    merge(&mut rows, "dataCollectionGroupId", &screening, &["ScreeningOutput_rankingResolution"]);
    merge(&mut rows, "dataCollectionId", &phasing(db, &dc_ids, "dc.dataCollectionId").await?, &["hasPhasing"]);
    if flavour == Flavour::Ispyb {
        merge(&mut rows, "dataCollectionGroupId", &meshes(db, &group_ids).await?, MESH);
    } else {
        merge(&mut rows, "dataCollectionGroupId", &HashMap::new(), MESH);
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT api.dataCollectionId AS id, COUNT(*) AS hasAutoProcessing FROM AutoProcIntegration api \
         WHERE api.dataCollectionId IN (",
    );
    push_ids(&mut q, &dc_ids);
    q.push(") GROUP BY api.dataCollectionId");
    merge(&mut rows, "dataCollectionId", &by_id(db, q, dates).await?, &["hasAutoProcessing"]);
    for row in &mut rows {
        for key in ["hasPhasing", "hasAutoProcessing"] {
            if row.get(key).is_none_or(Value::is_null) {
                row.insert(key.into(), Value::from(0));
            }
        }
    }
    Ok(rows)
}

/// The distinct numeric values of `key` in the rows.
fn ids_of(rows: &[JsonRow], key: &str) -> Vec<u32> {
    let mut ids: Vec<u32> =
        rows.iter().filter_map(|r| r.get(key)?.as_u64()).filter_map(|v| u32::try_from(v).ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Runs a query whose first column is `id` and keeps the first row of each id.
async fn by_id(db: &Db, q: QueryBuilder<MySql>, dates: DateStyle) -> crate::Result<HashMap<u64, JsonRow>> {
    let mut out = HashMap::new();
    for mut row in fetch_json(db, q, dates).await? {
        if let Some(id) = row.remove("id").and_then(|v| v.as_u64()) {
            out.entry(id).or_insert(row);
        }
    }
    Ok(out)
}

/// Adds `keys` from `extra` (matched on the row's `on` id) to every row; `null` where there is
/// nothing to add.
fn merge(rows: &mut [JsonRow], on: &str, extra: &HashMap<u64, JsonRow>, keys: &[&str]) {
    for row in rows {
        let found = row.get(on).and_then(Value::as_u64).and_then(|id| extra.get(&id));
        for key in keys {
            let v = found.and_then(|e| e.get(*key)).cloned().unwrap_or(Value::Null);
            row.insert((*key).to_string(), v);
        }
    }
}

const AUTOPROC_FIRST: &[&str] = &[
    "AutoProcIntegration_dataCollectionId",
    "autoProcScalingId",
    "cell_a",
    "cell_b",
    "cell_c",
    "cell_alpha",
    "cell_beta",
    "cell_gamma",
    "anomalous",
    "scalingStatisticsType",
    "resolutionLimitHigh",
    "resolutionLimitLow",
    "completeness",
    "AutoProc_spaceGroup",
    "autoProcId",
    "rMerge",
    "AutoProcIntegration_autoProcIntegrationId",
    "AutoProcProgram_processingPrograms",
    "AutoProcProgram_processingStatus",
    "AutoProcProgram_autoProcProgramId",
];

const AUTOPROC_FIRST_DC: &[&str] = &[
    "AutoProcIntegration_dataCollectionId",
    "autoProcScalingId",
    "cell_a",
    "cell_b",
    "cell_c",
    "cell_alpha",
    "cell_beta",
    "cell_gamma",
    "anomalous",
    "scalingStatisticsType",
    "resolutionLimitHigh",
    "resolutionLimitLow",
    "completeness",
    "AutoProc_spaceGroup",
    "autoProcId",
    "rMerge",
    "ccHalf",
    "meanIOverSigI",
    "AutoProcIntegration_autoProcIntegrationId",
    "AutoProcProgram_processingPrograms",
    "AutoProcProgram_processingStatus",
    "AutoProcProgram_autoProcProgramId",
];

/// `(list key, column)` of the comma lists over a collection's auto-processing rows.
const AUTOPROC_LIST_COLUMNS: &[(&str, &str)] = &[
    ("processingPrograms", "app.processingPrograms"),
    ("processingStatus", "app.processingStatus"),
    ("autoProcIntegrationId", "api.autoProcIntegrationId"),
    ("Autoprocessing_cell_a", "api.cell_a"),
    ("Autoprocessing_cell_b", "api.cell_b"),
    ("Autoprocessing_cell_c", "api.cell_c"),
    ("Autoprocessing_cell_alpha", "api.cell_alpha"),
    ("Autoprocessing_cell_beta", "api.cell_beta"),
    ("Autoprocessing_cell_gamma", "api.cell_gamma"),
    ("Autoprocessing_anomalous", "api.anomalous"),
    ("autoProcIds", "ap.autoProcId"),
    ("scalingStatisticsTypes", "st.scalingStatisticsType"),
    ("resolutionsLimitHigh", "st.resolutionLimitHigh"),
    ("resolutionsLimitLow", "st.resolutionLimitLow"),
    ("rMerges", "st.rMerge"),
    ("completenessList", "st.completeness"),
    ("AutoProc_spaceGroups", "ap.spaceGroup"),
];

/// Lists only the DC query has.
const AUTOPROC_DC_ONLY_LISTS: &[(&str, &str)] =
    &[("meanIOverSigIList", "st.meanIOverSigI"), ("ccHalfList", "st.ccHalf")];

const AUTOPROC_LISTS: &[&str] = &[
    "processingPrograms",
    "processingStatus",
    "autoProcIntegrationId",
    "Autoprocessing_cell_a",
    "Autoprocessing_cell_b",
    "Autoprocessing_cell_c",
    "Autoprocessing_cell_alpha",
    "Autoprocessing_cell_beta",
    "Autoprocessing_cell_gamma",
    "Autoprocessing_anomalous",
    "autoProcIds",
    "scalingStatisticsTypes",
    "resolutionsLimitHigh",
    "resolutionsLimitLow",
    "rMerges",
    "completenessList",
    "AutoProc_spaceGroups",
];

const AUTOPROC_LISTS_DC: &[&str] = &[
    "processingPrograms",
    "processingStatus",
    "autoProcIntegrationId",
    "Autoprocessing_cell_a",
    "Autoprocessing_cell_b",
    "Autoprocessing_cell_c",
    "Autoprocessing_cell_alpha",
    "Autoprocessing_cell_beta",
    "Autoprocessing_cell_gamma",
    "Autoprocessing_anomalous",
    "autoProcIds",
    "scalingStatisticsTypes",
    "resolutionsLimitHigh",
    "resolutionsLimitLow",
    "rMerges",
    "completenessList",
    "AutoProc_spaceGroups",
    "meanIOverSigIList",
    "ccHalfList",
];

const AUTOPROC_FROM: &str = " FROM AutoProcIntegration api
    LEFT JOIN AutoProcProgram app ON app.autoProcProgramId = api.autoProcProgramId
    LEFT JOIN AutoProcScaling_has_Int shi ON shi.autoProcIntegrationId = api.autoProcIntegrationId
    LEFT JOIN AutoProcScaling aps ON aps.autoProcScalingId = shi.autoProcScalingId
    LEFT JOIN AutoProcScalingStatistics st ON st.autoProcScalingId = aps.autoProcScalingId
    LEFT JOIN AutoProc ap ON ap.autoProcId = aps.autoProcId
    WHERE api.dataCollectionId IN (";

/// Per collection: its first auto-processing row (integration, scaling, statistics) and the
/// comma lists over all of them (`null` placeholders for missing values in the DC query, as
/// Java's `IFNULL(…, 'null')`).
async fn autoproc(
    db: &Db,
    dc_ids: &[u32],
    null_placeholders: bool,
    dates: DateStyle,
) -> crate::Result<(HashMap<u64, JsonRow>, HashMap<u64, JsonRow>)> {
    if dc_ids.is_empty() {
        return Ok((HashMap::new(), HashMap::new()));
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT api.dataCollectionId AS id, api.dataCollectionId AS AutoProcIntegration_dataCollectionId, \
         aps.autoProcScalingId, api.cell_a, api.cell_b, api.cell_c, api.cell_alpha, api.cell_beta, api.cell_gamma, \
         api.anomalous, st.scalingStatisticsType, st.resolutionLimitHigh, st.resolutionLimitLow, st.completeness, \
         ap.spaceGroup AS AutoProc_spaceGroup, ap.autoProcId, st.rMerge, st.ccHalf, st.meanIOverSigI, \
         api.autoProcIntegrationId AS AutoProcIntegration_autoProcIntegrationId, \
         app.processingPrograms AS AutoProcProgram_processingPrograms, \
         app.processingStatus AS AutoProcProgram_processingStatus, \
         app.autoProcProgramId AS AutoProcProgram_autoProcProgramId",
    );
    q.push(AUTOPROC_FROM);
    push_ids(&mut q, dc_ids);
    q.push(") ORDER BY api.dataCollectionId, api.autoProcIntegrationId, st.autoProcScalingStatisticsId");
    let first = by_id(db, q, dates).await?;

    let order = "ORDER BY api.autoProcIntegrationId, st.autoProcScalingStatisticsId";
    let mut columns: Vec<(&str, &str)> = AUTOPROC_LIST_COLUMNS.to_vec();
    if null_placeholders {
        columns.extend_from_slice(AUTOPROC_DC_ONLY_LISTS);
    }
    let lists = columns
        .iter()
        .map(|(key, col)| {
            let value = if null_placeholders { format!("IFNULL({col}, 'null')") } else { (*col).to_string() };
            format!("GROUP_CONCAT({value} {order} SEPARATOR ', ') AS `{key}`")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut q = QueryBuilder::<MySql>::new(format!("SELECT api.dataCollectionId AS id, {lists}"));
    q.push(AUTOPROC_FROM);
    push_ids(&mut q, dc_ids);
    q.push(") GROUP BY api.dataCollectionId");
    let lists = by_id(db, q, dates).await?;
    Ok((first, lists))
}

const SCREENING: &[&str] = &[
    "Screening_screeningId",
    "Screening_dataCollectionId",
    "Screening_dataCollectionGroupId",
    "ScreeningOutput_strategySuccess",
    "ScreeningOutput_indexingSuccess",
    "ScreeningOutput_rankingResolution",
    "ScreeningOutput_mosaicity",
    "ScreeningOutputLattice_spaceGroup",
    "ScreeningOutputLattice_unitCell_a",
    "ScreeningOutputLattice_unitCell_b",
    "ScreeningOutputLattice_unitCell_c",
    "ScreeningOutputLattice_unitCell_alpha",
    "ScreeningOutputLattice_unitCell_beta",
    "ScreeningOutputLattice_unitCell_gamma",
    "ScreeningOutput_totalExposureTime",
    "ScreeningOutput_totalRotationRange",
    "ScreeningOutput_totalNumberOfImages",
    "ScreeningStrategySubWedge_exposureTime",
    "ScreeningStrategySubWedge_transmission",
    "ScreeningStrategySubWedge_oscillationRange",
    "ScreeningStrategySubWedge_numberOfImages",
    "ScreeningStrategySubWedge_multiplicity",
    "ScreeningStrategySubWedge_completeness",
    "ScreeningStrategySubWedge_axisStart",
];

/// Per group: the latest screening with its output, lattice and first strategy sub-wedge.
async fn screening(db: &Db, group_ids: &[u32], dates: DateStyle) -> crate::Result<HashMap<u64, JsonRow>> {
    if group_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let flavour = db.flavour();
    let mut s = Select::new(flavour);
    s.expr("sc.dataCollectionGroupId", "id");
    s.prefixed(
        <models::Screening as Table>::meta(),
        "sc",
        "Screening",
        &["screeningId", "dataCollectionId", "dataCollectionGroupId"],
    );
    s.prefixed(
        <models::ScreeningOutput as Table>::meta(),
        "so",
        "ScreeningOutput",
        &["strategySuccess", "indexingSuccess", "rankingResolution", "mosaicity"],
    );
    s.prefixed(
        <models::ScreeningOutputLattice as Table>::meta(),
        "sol",
        "ScreeningOutputLattice",
        &["spaceGroup", "unitCell_a", "unitCell_b", "unitCell_c", "unitCell_alpha", "unitCell_beta", "unitCell_gamma"],
    );
    s.prefixed(
        <models::ScreeningOutput as Table>::meta(),
        "so",
        "ScreeningOutput",
        &["totalExposureTime", "totalRotationRange", "totalNumberOfImages"],
    );
    s.prefixed(
        <models::ScreeningStrategySubWedge as Table>::meta(),
        "ssw",
        "ScreeningStrategySubWedge",
        &[
            "exposureTime",
            "transmission",
            "oscillationRange",
            "numberOfImages",
            "multiplicity",
            "completeness",
            "axisStart",
        ],
    );
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM Screening sc
         LEFT JOIN ScreeningOutput so ON so.screeningId = sc.screeningId
         LEFT JOIN ScreeningOutputLattice sol ON sol.screeningOutputId = so.screeningOutputId
         LEFT JOIN ScreeningStrategy ss ON ss.screeningOutputId = so.screeningOutputId
         LEFT JOIN ScreeningStrategyWedge sw ON sw.screeningStrategyId = ss.screeningStrategyId
         LEFT JOIN ScreeningStrategySubWedge ssw ON ssw.screeningStrategyWedgeId = sw.screeningStrategyWedgeId
         WHERE sc.dataCollectionGroupId IN (",
        s.sql()
    ));
    push_ids(&mut q, group_ids);
    q.push(
        ") ORDER BY sc.dataCollectionGroupId, sc.screeningId DESC, so.screeningOutputId, sol.screeningOutputLatticeId, \
         ss.screeningStrategyId, sw.screeningStrategyWedgeId, ssw.screeningStrategySubWedgeId",
    );
    by_id(db, q, dates).await
}

const WORKFLOW_STEPS: &[&str] = &[
    "WorkflowStep_workflowStepId",
    "WorkflowStep_workflowStepType",
    "WorkflowStep_status",
    "characterisationWorkflowStepIds",
];

/// Per workflow: its steps' ids, types and statuses as aligned comma lists, and the ids of its
/// characterisation steps.
async fn workflow_steps(db: &Db, workflow_ids: &[u32]) -> crate::Result<HashMap<u64, JsonRow>> {
    if workflow_ids.is_empty() || !has_table(<models::WorkflowStep as Table>::meta(), db.flavour()) {
        return Ok(HashMap::new());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT ws.workflowId AS id,
           GROUP_CONCAT(ws.workflowStepId ORDER BY ws.workflowStepId) AS WorkflowStep_workflowStepId,
           GROUP_CONCAT(IFNULL(ws.workflowStepType, '') ORDER BY ws.workflowStepId) AS WorkflowStep_workflowStepType,
           GROUP_CONCAT(IFNULL(ws.status, '') ORDER BY ws.workflowStepId) AS WorkflowStep_status,
           GROUP_CONCAT(CASE WHEN ws.workflowStepType = 'Characterisation' THEN ws.workflowStepId END
                        ORDER BY ws.workflowStepId) AS characterisationWorkflowStepIds
         FROM WorkflowStep ws WHERE ws.workflowId IN (",
    );
    push_ids(&mut q, workflow_ids);
    q.push(") GROUP BY ws.workflowId");
    by_id(db, q, DateStyle::Iso).await
}

const PHASING: &[&str] = &["hasPhasing", "hasMR", "SpaceGroupModelResolvedByPhasing", "SpaceGroupModelResolvedByMr"];

/// Phasing reached from collections (integration → scaling → phasing step), per `key`
/// (`dc.dataCollectionGroupId` or `dc.dataCollectionId`): SAD and MR step counts and the space
/// groups of model-building and refinement steps.
async fn phasing(db: &Db, ids: &[u32], key: &str) -> crate::Result<HashMap<u64, JsonRow>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {key} AS id, COUNT(CASE WHEN ps.method = 'SAD' THEN 1 END) AS hasPhasing,
           COUNT(CASE WHEN ps.method = 'MR' THEN 1 END) AS hasMR,
           GROUP_CONCAT(DISTINCT CASE WHEN ps.phasingStepType = 'MODELBUILDING' THEN sg.spaceGroupShortName END)
             AS SpaceGroupModelResolvedByPhasing,
           GROUP_CONCAT(DISTINCT CASE WHEN ps.phasingStepType = 'REFINEMENT' THEN sg.spaceGroupShortName END)
             AS SpaceGroupModelResolvedByMr
         FROM DataCollection dc
         JOIN AutoProcIntegration api ON api.dataCollectionId = dc.dataCollectionId
         JOIN AutoProcScaling_has_Int shi ON shi.autoProcIntegrationId = api.autoProcIntegrationId
         JOIN PhasingStep ps ON ps.autoProcScalingId = shi.autoProcScalingId
         LEFT JOIN SpaceGroup sg ON sg.spaceGroupId = ps.spaceGroupId
         WHERE {key} IN ("
    ));
    push_ids(&mut q, ids);
    q.push(format_args!(") GROUP BY {key}"));
    by_id(db, q, DateStyle::Iso).await
}

const GROUP_DCS: &[&str] = &[
    "totalNumberOfImages",
    "totalNumberOfDataCollections",
    "numberOfGridSquares",
    "dataCollectionIdList",
    "imageDirectoryList",
    "startTimeList",
    "magnificationList",
    "voltageList",
    "imagesCount",
];

/// Per group, over all its collections: image and collection counts and the comma lists EM
/// clients build grid squares from (dates inside the lists are MariaDB text).
async fn group_collections(db: &Db, group_ids: &[u32]) -> crate::Result<HashMap<u64, JsonRow>> {
    if group_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let dc = <models::DataCollection as Table>::meta();
    let list = |col: &str| {
        if has_column(dc, col, db.flavour()) {
            format!("GROUP_CONCAT(dc.`{col}` ORDER BY dc.dataCollectionId)")
        } else {
            "NULL".to_string()
        }
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT dc.dataCollectionGroupId AS id, SUM(dc.numberOfImages) AS totalNumberOfImages,
           COUNT(*) AS totalNumberOfDataCollections, COUNT(*) AS numberOfGridSquares,
           {} AS dataCollectionIdList, {} AS imageDirectoryList, {} AS startTimeList, {} AS magnificationList,
           {} AS voltageList, {} AS imagesCount
         FROM DataCollection dc WHERE dc.dataCollectionGroupId IN (",
        list("dataCollectionId"),
        list("imageDirectory"),
        list("startTime"),
        list("magnification"),
        list("voltage"),
        list("numberOfImages"),
    ));
    push_ids(&mut q, group_ids);
    q.push(") GROUP BY dc.dataCollectionGroupId");
    by_id(db, q, DateStyle::Iso).await
}

const IMAGES: &[&str] = &["lastImageId", "firstImageId", "synchrotronCurrent"];

/// Per collection: its first and last image ids and the synchrotron currents of its images.
async fn images(db: &Db, dc_ids: &[u32]) -> crate::Result<HashMap<u64, JsonRow>> {
    if dc_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT i.dataCollectionId AS id, MAX(i.imageId) AS lastImageId, MIN(i.imageId) AS firstImageId,
           GROUP_CONCAT(i.synchrotronCurrent ORDER BY i.imageId) AS synchrotronCurrent
         FROM Image i WHERE i.dataCollectionId IN (",
    );
    push_ids(&mut q, dc_ids);
    q.push(") GROUP BY i.dataCollectionId");
    by_id(db, q, DateStyle::Iso).await
}

const MESH: &[&str] = &["value1", "value2", "value3", "value4"];

/// Per group: the values of its workflow's mesh (ispyb flavour only).
async fn meshes(db: &Db, group_ids: &[u32]) -> crate::Result<HashMap<u64, JsonRow>> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT g.dataCollectionGroupId AS id, GROUP_CONCAT(m.value1 ORDER BY m.workflowMeshId) AS value1,
           GROUP_CONCAT(m.value2 ORDER BY m.workflowMeshId) AS value2,
           GROUP_CONCAT(m.value3 ORDER BY m.workflowMeshId) AS value3,
           GROUP_CONCAT(m.value4 ORDER BY m.workflowMeshId) AS value4
         FROM DataCollectionGroup g JOIN WorkflowMesh m ON m.workflowId = g.workflowId
         WHERE g.dataCollectionGroupId IN (",
    );
    push_ids(&mut q, group_ids);
    q.push(") GROUP BY g.dataCollectionGroupId");
    by_id(db, q, DateStyle::Iso).await
}
