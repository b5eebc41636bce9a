//! Samples (`BLSample`), sub-samples (`BLSubSample`), sample images (`BLSampleImage`), the
//! component lookups of the sample editor, and sample writes.
//!
//! A sample belongs to the proposal of its crystal's protein (`BLSample → Crystal → Protein`);
//! that proposal decides who sees it and who may change it. Lists choose the page's ids first
//! (indexed lookups and an ordered `LIMIT`), then read the page's rows, crystals, containers,
//! compositions and counts with a fixed number of statements.
//!
//! Writes run in one transaction: every reference the body names (crystal, protein, container,
//! component, lookup values) is checked, and the caller's right to it, before the first write;
//! any failure rolls everything back.

use std::collections::HashMap;

use serde::Deserialize;
use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::{Flavour, Table, TableMeta};
use crate::proposals::escape_like;
use crate::proteins::{SortOrder, push_proposal_name, push_visible};
use crate::sql::push_ids;
use crate::types::{CsvList, Int};
use crate::write::Patch;
use crate::{Access, Db, Page, Paged, models};

// ---------------------------------------------------------------------------------------------
// Samples: response shapes
// ---------------------------------------------------------------------------------------------

/// A sample as py-ISPyB's `Sample` schema (and the sample editor's branch of it) describes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Sample)]
pub struct SampleRow {
    /// Sample name.
    pub name: Option<String>,
    /// Comments.
    pub comments: Option<String>,
    /// Position in the container (`BLSample.location`, a number; null when the column holds
    /// something else).
    pub location: Option<i64>,
    /// Container of the sample.
    #[serde(rename = "containerId")]
    pub container_id: Option<u32>,
    /// Sample support (`BLSample.loopType`).
    #[serde(rename = "loopType")]
    pub loop_type: Option<String>,
    /// The crystal: cell, protein and compositions.
    #[serde(rename = "Crystal")]
    pub crystal: SampleCrystal,
    /// What the sample is made of (`SampleComposition`).
    pub sample_compositions: Vec<Composition>,
    /// `BLSample.blSampleId`.
    #[serde(rename = "blSampleId")]
    pub bl_sample_id: u32,
    /// The container (`Container` row), when the sample is in one.
    #[serde(rename = "Container")]
    pub container: Option<models::Container>,
    /// Barcode or code of the sample.
    pub code: Option<String>,
    /// `BLSample.blSampleStatus`.
    #[serde(rename = "blSampleStatus")]
    pub bl_sample_status: Option<String>,
    /// `BLSample.isInSampleChanger`.
    #[serde(rename = "isInSampleChanger")]
    pub is_in_sample_changer: Option<bool>,
    /// When the row was written.
    #[serde(rename = "recordTimeStamp")]
    #[schema(value_type = Option<String>, example = "2024-05-01T09:30:00")]
    pub record_time_stamp: crate::types::DateTime,
    /// Counts and derived values.
    #[serde(rename = "_metadata")]
    pub metadata: SampleMetadata,
}

/// A sample's crystal: every `Crystal` column, its protein and its compositions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SampleCrystal {
    /// The `Crystal` row.
    #[serde(flatten)]
    pub base: models::Crystal,
    /// The protein.
    #[serde(rename = "Protein")]
    pub protein: SampleProtein,
    /// What the crystal is made of (`CrystalComposition`).
    pub crystal_compositions: Vec<Composition>,
}

/// The protein of a sample's crystal.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SampleProtein {
    /// Proposal id of the protein, as a string (as py-ISPyB declares it).
    #[serde(rename = "proposalId")]
    pub proposal_id: String,
    /// Name.
    pub name: Option<String>,
    /// Acronym.
    pub acronym: Option<String>,
    /// `Protein.proteinId`.
    #[serde(rename = "proteinId")]
    pub protein_id: u32,
}

/// One component of a sample or crystal, with its amount.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Composition {
    /// The component.
    #[serde(rename = "Component")]
    pub component: ComponentRow,
    /// `Component.componentId`.
    #[serde(rename = "componentId")]
    pub component_id: u32,
    /// Abundance (in the concentration type's unit).
    pub abundance: Option<f32>,
    /// Ratio.
    pub ratio: Option<f32>,
    /// pH.
    pub ph: Option<f32>,
    /// Unit of `abundance`.
    #[serde(rename = "ConcentrationType")]
    pub concentration_type: Option<models::ConcentrationType>,
}

/// A component (buffer, ligand, …) with its type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Component)]
pub struct ComponentRow {
    /// The `Component` row.
    #[serde(flatten)]
    pub base: models::Component,
    /// Its type.
    #[serde(rename = "ComponentType")]
    pub component_type: models::ComponentType,
}

/// Counts and derived values of a sample.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct SampleMetadata {
    /// Number of sub-samples.
    pub subsamples: i64,
    /// Number of data collections (through the sample's data collection groups).
    pub datacollections: i64,
    /// Experiment types of those groups; null when there are none.
    pub types: Option<Vec<String>>,
    /// Whether the sample waits in a container queue for a collection not yet made.
    pub queued: bool,
    /// Number of successful strategies.
    pub strategies: i64,
    /// Number of auto-integrations.
    #[serde(rename = "autoIntegrations")]
    pub auto_integrations: i64,
    /// Best (lowest) integrated resolution, Å.
    #[serde(rename = "integratedResolution")]
    pub integrated_resolution: Option<f32>,
    /// Proposal name.
    pub proposal: Option<String>,
}

/// Sample status filter values (py-ISPyB's `SampleStatus`; the UI builds its filter from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub enum SampleStatus {
    /// A robot action (load, unload, …) concerned the sample.
    #[serde(rename = "Sample Action")]
    SampleAction,
    /// Data were collected.
    #[serde(rename = "Data Collected")]
    DataCollected,
    /// A screening (strategy) was run on its data.
    #[serde(rename = "Strategy")]
    Strategy,
    /// Its data were auto-integrated.
    #[serde(rename = "Auto Integrated")]
    AutoIntegrated,
}

/// Sort keys of the sample list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
pub enum SampleOrderBy {
    /// `blSampleId` (the default, descending).
    #[default]
    #[serde(rename = "blSampleId")]
    BlSampleId,
    /// Name.
    #[serde(rename = "name")]
    Name,
    /// Position in the container, numerically.
    #[serde(rename = "location")]
    Location,
    /// Number of data collections.
    #[serde(rename = "datacollections")]
    Datacollections,
}

/// Filters of the sample list; every given filter applies (an unknown name matches nothing).
#[derive(Debug, Clone, Default)]
pub struct SampleFilter {
    /// One sample.
    pub bl_sample_id: Option<u32>,
    /// Text in the sample name (matched literally).
    pub search: Option<String>,
    /// Samples of this protein.
    pub protein_id: Option<u32>,
    /// Samples in this container.
    pub container_id: Option<u32>,
    /// Proposal name (`MX1`).
    pub proposal: Option<String>,
    /// Samples in the sample changer of this beamline (dewar `processing`, container assigned
    /// to the beamline and placed in the changer).
    pub beam_line_name: Option<String>,
    /// Samples with this kind of activity.
    pub status: Option<SampleStatus>,
    /// Sort key (`blSampleId` when not given).
    pub order_by: Option<SampleOrderBy>,
    /// Sort direction (descending when not given).
    pub order: Option<SortOrder>,
}

// ---------------------------------------------------------------------------------------------
// Samples: queries
// ---------------------------------------------------------------------------------------------

const SAMPLE_FROM: &str = " FROM BLSample b
    JOIN Crystal c ON c.crystalId = b.crystalId
    JOIN Protein pr ON pr.proteinId = c.proteinId
    LEFT JOIN Container co ON co.containerId = b.containerId
    LEFT JOIN Dewar d ON d.dewarId = co.dewarId
    WHERE 1";

/// Data collections of sample `b` (through its groups).
const SAMPLE_DC: &str = "SELECT 1 FROM DataCollectionGroup dcg
    JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId WHERE dcg.blSampleId = b.blSampleId";

fn push_sample_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &SampleFilter) {
    if let Some(id) = f.bl_sample_id {
        q.push(" AND b.blSampleId = ").push_bind(id);
    }
    if let Some(search) = &f.search {
        q.push(" AND b.name LIKE ").push_bind(format!("%{}%", escape_like(search)));
    }
    if let Some(id) = f.protein_id {
        q.push(" AND pr.proteinId = ").push_bind(id);
    }
    if let Some(id) = f.container_id {
        q.push(" AND b.containerId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        push_proposal_name(q, "pr.proposalId", name);
    }
    if let Some(bl) = &f.beam_line_name {
        q.push(" AND d.dewarStatus = 'processing' AND co.sampleChangerLocation <> '' AND co.beamlineLocation = ")
            .push_bind(bl.clone());
    }
    match f.status {
        None => {}
        Some(SampleStatus::SampleAction) => {
            q.push(" AND EXISTS (SELECT 1 FROM RobotAction ra WHERE ra.blsampleId = b.blSampleId)");
        }
        Some(SampleStatus::DataCollected) => {
            q.push(format_args!(" AND EXISTS ({SAMPLE_DC})"));
        }
        Some(SampleStatus::Strategy) => {
            q.push(
                " AND EXISTS (SELECT 1 FROM DataCollectionGroup dcg
                  JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId
                  JOIN Screening sc ON sc.dataCollectionId = dc.dataCollectionId
                  WHERE dcg.blSampleId = b.blSampleId)",
            );
        }
        Some(SampleStatus::AutoIntegrated) => {
            q.push(
                " AND EXISTS (SELECT 1 FROM DataCollectionGroup dcg
                  JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId
                  JOIN AutoProcIntegration api ON api.dataCollectionId = dc.dataCollectionId
                  WHERE dcg.blSampleId = b.blSampleId)",
            );
        }
    }
    push_visible(q, access, "pr.proposalId");
}

fn sample_order(f: &SampleFilter) -> String {
    let dir = f.order.unwrap_or(SortOrder::Desc).sql();
    match f.order_by.unwrap_or_default() {
        SampleOrderBy::BlSampleId => format!(" ORDER BY b.blSampleId {dir}"),
        SampleOrderBy::Name => format!(" ORDER BY b.name {dir}, b.blSampleId {dir}"),
        SampleOrderBy::Location => {
            format!(" ORDER BY CAST(b.location AS UNSIGNED) {dir}, b.location {dir}, b.blSampleId {dir}")
        }
        SampleOrderBy::Datacollections => format!(
            " ORDER BY (SELECT COUNT(*) FROM DataCollectionGroup dcg
               JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId
               WHERE dcg.blSampleId = b.blSampleId) {dir}, b.blSampleId {dir}"
        ),
    }
}

/// Lists the samples the caller may see (newest first unless told otherwise).
pub async fn list(db: &Db, access: &Access, filter: &SampleFilter, page: Page) -> crate::Result<Paged<SampleRow>> {
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*)");
    count.push(SAMPLE_FROM);
    push_sample_where(&mut count, access, filter);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;

    let mut q = QueryBuilder::<MySql>::new("SELECT b.blSampleId");
    q.push(SAMPLE_FROM);
    push_sample_where(&mut q, access, filter);
    q.push(sample_order(filter));
    q.push(" LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let ids: Vec<u32> = q.build_query_scalar().fetch_all(db.pool()).await?;
    let rows = samples_by_id(db, &ids).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// One visible sample.
pub async fn find(db: &Db, access: &Access, bl_sample_id: u32) -> crate::Result<Option<SampleRow>> {
    let filter = SampleFilter { bl_sample_id: Some(bl_sample_id), ..Default::default() };
    Ok(list(db, access, &filter, Page { skip: 0, limit: 1 }).await?.results.pop())
}

#[derive(FromRow)]
struct SampleBase {
    #[sqlx(flatten)]
    base: models::BlSample,
    proposal: Option<String>,
    #[sqlx(flatten)]
    counts: SampleCounts,
}

#[derive(FromRow)]
struct CrystalBase {
    #[sqlx(flatten)]
    base: models::Crystal,
    #[sqlx(rename = "proteinProposalId")]
    protein_proposal_id: u32,
    #[sqlx(rename = "proteinName")]
    protein_name: Option<String>,
    #[sqlx(rename = "proteinAcronym")]
    protein_acronym: Option<String>,
}

#[derive(FromRow)]
struct SampleCounts {
    subsamples: i64,
    datacollections: i64,
    types: Option<CsvList>,
    strategies: i64,
    #[sqlx(rename = "autoIntegrations")]
    auto_integrations: i64,
    #[sqlx(rename = "integratedResolution")]
    integrated_resolution: Option<f32>,
    queued: bool,
}

/// `IN (…)` of the crystals of the given samples, as a subquery (so the statement runs, and
/// costs the same, whatever the page holds).
fn push_crystals_of(q: &mut QueryBuilder<MySql>, ids: &[u32]) {
    q.push("SELECT bc.crystalId FROM BLSample bc WHERE bc.blSampleId IN (");
    push_ids(q, ids);
    q.push(")");
}

/// The full rows of the given samples, in the given order: four statements (the samples with
/// their counts, their crystals and proteins, their containers, every composition).
async fn samples_by_id(db: &Db, ids: &[u32]) -> crate::Result<Vec<SampleRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let flavour = db.flavour();
    let queued = match flavour {
        // Only the `dls` schema links queued samples (ContainerQueueSample.blSampleId) to plans.
        Flavour::Dls => {
            "EXISTS (SELECT 1 FROM ContainerQueueSample cqs WHERE cqs.blSampleId = b.blSampleId
              AND NOT EXISTS (SELECT 1 FROM DataCollection dcq
                WHERE dcq.dataCollectionPlanId = cqs.dataCollectionPlanId))"
        }
        Flavour::Ispyb => "0",
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, CONCAT(p.proposalCode, p.proposalNumber) AS proposal,
           (SELECT COUNT(*) FROM BLSubSample ss WHERE ss.blSampleId = b.blSampleId) AS subsamples,
           (SELECT COUNT(*) FROM DataCollectionGroup dcg
             JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId
             WHERE dcg.blSampleId = b.blSampleId) AS datacollections,
           (SELECT GROUP_CONCAT(DISTINCT dcg.experimentType ORDER BY CAST(dcg.experimentType AS CHAR))
             FROM DataCollectionGroup dcg WHERE dcg.blSampleId = b.blSampleId) AS types,
           (SELECT COUNT(DISTINCT so.screeningOutputId) FROM DataCollectionGroup dcg
             JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId
             JOIN Screening sc ON sc.dataCollectionId = dc.dataCollectionId
             JOIN ScreeningOutput so ON so.screeningId = sc.screeningId AND so.strategySuccess = 1
             WHERE dcg.blSampleId = b.blSampleId) AS strategies,
           (SELECT COUNT(DISTINCT api.autoProcIntegrationId) FROM DataCollectionGroup dcg
             JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId
             JOIN AutoProcIntegration api ON api.dataCollectionId = dc.dataCollectionId
             WHERE dcg.blSampleId = b.blSampleId) AS autoIntegrations,
           (SELECT MIN(apss.resolutionLimitHigh) FROM DataCollectionGroup dcg
             JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId
             JOIN AutoProcIntegration api ON api.dataCollectionId = dc.dataCollectionId
             JOIN AutoProcScaling_has_Int aph ON aph.autoProcIntegrationId = api.autoProcIntegrationId
             JOIN AutoProcScalingStatistics apss ON apss.autoProcScalingId = aph.autoProcScalingId
             WHERE dcg.blSampleId = b.blSampleId) AS integratedResolution,
           {queued} AS queued
         FROM BLSample b JOIN Crystal c ON c.crystalId = b.crystalId JOIN Protein pr ON pr.proteinId = c.proteinId
         JOIN Proposal p ON p.proposalId = pr.proposalId WHERE b.blSampleId IN (",
        <models::BlSample as Table>::meta().select("b", flavour)
    ));
    push_ids(&mut q, ids);
    q.push(")");
    let bases: Vec<SampleBase> = q.build_query_as().fetch_all(db.pool()).await?;
    if bases.is_empty() {
        // Deleted since the page was chosen.
        return Ok(Vec::new());
    }

    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, pr.proposalId AS proteinProposalId, pr.name AS proteinName, pr.acronym AS proteinAcronym
         FROM Crystal c JOIN Protein pr ON pr.proteinId = c.proteinId WHERE c.crystalId IN (",
        <models::Crystal as Table>::meta().select("c", flavour)
    ));
    push_crystals_of(&mut q, ids);
    q.push(")");
    let crystals: HashMap<u32, CrystalBase> = q
        .build_query_as::<CrystalBase>()
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|c| (c.base.crystal_id, c))
        .collect();

    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM Container co WHERE co.containerId IN (SELECT bo.containerId FROM BLSample bo WHERE bo.blSampleId IN (",
        <models::Container as Table>::meta().select("co", flavour)
    ));
    push_ids(&mut q, ids);
    q.push("))");
    let containers: HashMap<u32, models::Container> = q
        .build_query_as::<models::Container>()
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|c| (c.container_id, c))
        .collect();

    let (mut sample_comps, crystal_comps) = compositions(db, ids).await?;

    let mut by_id: HashMap<u32, SampleRow> = HashMap::new();
    for s in bases {
        let Some(crystal) = s.base.crystal_id.and_then(|id| crystals.get(&id)) else { continue };
        let m = s.counts;
        let row = SampleRow {
            name: s.base.name,
            comments: s.base.comments,
            location: s.base.location.as_deref().and_then(|l| l.trim().parse().ok()),
            container_id: s.base.container_id,
            loop_type: s.base.loop_type,
            crystal: SampleCrystal {
                base: crystal.base.clone(),
                protein: SampleProtein {
                    proposal_id: crystal.protein_proposal_id.to_string(),
                    name: crystal.protein_name.clone(),
                    acronym: crystal.protein_acronym.clone(),
                    protein_id: crystal.base.protein_id,
                },
                crystal_compositions: crystal_comps.get(&crystal.base.crystal_id).cloned().unwrap_or_default(),
            },
            sample_compositions: sample_comps.remove(&s.base.bl_sample_id).unwrap_or_default(),
            bl_sample_id: s.base.bl_sample_id,
            container: s.base.container_id.and_then(|id| containers.get(&id).cloned()),
            code: s.base.code,
            bl_sample_status: s.base.bl_sample_status,
            is_in_sample_changer: s.base.is_in_sample_changer,
            record_time_stamp: s.base.record_time_stamp,
            metadata: SampleMetadata {
                subsamples: m.subsamples,
                datacollections: m.datacollections,
                types: m.types.map(|t| t.0).filter(|t| !t.is_empty()),
                queued: m.queued,
                strategies: m.strategies,
                auto_integrations: m.auto_integrations,
                integrated_resolution: m.integrated_resolution,
                proposal: s.proposal,
            },
        };
        by_id.insert(row.bl_sample_id, row);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

#[derive(Clone, Copy)]
enum CompositionOwner {
    Sample,
    Crystal,
}

#[derive(FromRow)]
struct CompositionBase {
    /// `s` for a sample's composition, `c` for a crystal's.
    #[sqlx(rename = "ownerKind")]
    owner_kind: String,
    #[sqlx(rename = "ownerId")]
    owner_id: u32,
    #[sqlx(flatten)]
    component: models::Component,
    #[sqlx(rename = "componentTypeName")]
    component_type_name: String,
    abundance: Option<f32>,
    ratio: Option<f32>,
    ph: Option<f32>,
    #[sqlx(rename = "concentrationTypeId")]
    concentration_type_id: Option<u32>,
    #[sqlx(rename = "concentrationTypeName")]
    concentration_type_name: Option<String>,
    #[sqlx(rename = "concentrationTypeSymbol")]
    concentration_type_symbol: Option<String>,
}

type ByOwner = HashMap<u32, Vec<Composition>>;

/// The compositions of the given samples and of their crystals (one statement), by sample and
/// by crystal id, in insertion order.
async fn compositions(db: &Db, ids: &[u32]) -> crate::Result<(ByOwner, ByOwner)> {
    let component = <models::Component as Table>::meta().select("cp", db.flavour());
    let part = |kind: &str, table: &str, key: &str, pk: &str| {
        format!(
            "SELECT '{kind}' AS ownerKind, x.{key} AS ownerId, x.{pk} AS pk, {component}, ct.name AS componentTypeName,
               x.abundance, x.ratio, x.ph AS ph, x.concentrationTypeId, cty.name AS concentrationTypeName,
               cty.symbol AS concentrationTypeSymbol
             FROM {table} x JOIN Component cp ON cp.componentId = x.componentId
             JOIN ComponentType ct ON ct.componentTypeId = cp.componentTypeId
             LEFT JOIN ConcentrationType cty ON cty.concentrationTypeId = x.concentrationTypeId
             WHERE x.{key} IN ("
        )
    };
    let mut q = QueryBuilder::<MySql>::new(part("s", "SampleComposition", "blSampleId", "sampleCompositionId"));
    push_ids(&mut q, ids);
    q.push(") UNION ALL ");
    q.push(part("c", "CrystalComposition", "crystalId", "crystalCompositionId"));
    push_crystals_of(&mut q, ids);
    q.push(") ORDER BY ownerKind, pk");
    let mut samples = ByOwner::new();
    let mut crystals = ByOwner::new();
    for c in q.build_query_as::<CompositionBase>().fetch_all(db.pool()).await? {
        let concentration_type = match (c.concentration_type_id, c.concentration_type_name, c.concentration_type_symbol)
        {
            (Some(id), Some(name), Some(symbol)) => {
                Some(models::ConcentrationType { concentration_type_id: id, name, symbol })
            }
            _ => None,
        };
        let component_type =
            models::ComponentType { component_type_id: c.component.component_type_id, name: c.component_type_name };
        let owner = if c.owner_kind == "s" { &mut samples } else { &mut crystals };
        owner.entry(c.owner_id).or_default().push(Composition {
            component_id: c.component.component_id,
            component: ComponentRow { base: c.component, component_type },
            abundance: c.abundance,
            ratio: c.ratio,
            ph: c.ph,
            concentration_type,
        });
    }
    Ok((samples, crystals))
}

// ---------------------------------------------------------------------------------------------
// Sub-samples
// ---------------------------------------------------------------------------------------------

/// A sub-sample (a point or region of a sample), as py-ISPyB's `SubSample`.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = SubSample)]
pub struct SubSampleRow {
    /// Sub-sample type (`BLSubSample.type`, `dls` schema only; null otherwise).
    #[sqlx(rename = "subSampleType")]
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The `BLSubSample` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::BlSubSample,
    /// Counts.
    #[sqlx(flatten)]
    #[serde(rename = "_metadata")]
    pub metadata: SubSampleMetadata,
    /// The parent sample.
    #[sqlx(flatten)]
    #[serde(rename = "BLSample")]
    pub bl_sample: SubSampleSample,
    /// First position (point, or a corner of a region).
    #[sqlx(skip)]
    #[serde(rename = "Position1")]
    pub position1: Option<Position>,
    /// Second position (the other corner of a region).
    #[sqlx(skip)]
    #[serde(rename = "Position2")]
    pub position2: Option<Position>,
    #[sqlx(flatten)]
    #[serde(skip)]
    positions: PositionColumns,
}

/// The two positions as read with the sub-sample (`Position` left-joined twice).
#[derive(Debug, Clone, PartialEq, Default, FromRow)]
struct PositionColumns {
    #[sqlx(rename = "pos1Id")]
    pos1_id: Option<u32>,
    #[sqlx(rename = "pos1X")]
    pos1_x: Option<f64>,
    #[sqlx(rename = "pos1Y")]
    pos1_y: Option<f64>,
    #[sqlx(rename = "pos2Id")]
    pos2_id: Option<u32>,
    #[sqlx(rename = "pos2X")]
    pos2_x: Option<f64>,
    #[sqlx(rename = "pos2Y")]
    pos2_y: Option<f64>,
}

impl PositionColumns {
    /// py-ISPyB declares pixel positions as integers (truncated).
    fn take(id: Option<u32>, x: Option<f64>, y: Option<f64>) -> Option<Position> {
        id.map(|_| Position { pos_x: x.map(|v| v as i64), pos_y: y.map(|v| v as i64) })
    }
}

/// Counts of a sub-sample.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct SubSampleMetadata {
    /// Data collections on the sub-sample.
    pub datacollections: i64,
    /// Their experiment types (`[]` when none).
    #[schema(value_type = Vec<String>)]
    pub types: CsvList,
}

/// The parent sample of a sub-sample.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct SubSampleSample {
    /// Sample name.
    #[sqlx(rename = "sampleName")]
    pub name: Option<String>,
}

/// A position on a sample image, in pixels (py-ISPyB's integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Position {
    /// X.
    #[serde(rename = "posX")]
    pub pos_x: Option<i64>,
    /// Y.
    #[serde(rename = "posY")]
    pub pos_y: Option<i64>,
}

/// Sort keys of the sub-sample list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
pub enum SubSampleOrderBy {
    /// `blSubSampleId` (the default, ascending).
    #[default]
    #[serde(rename = "blSubSampleId")]
    BlSubSampleId,
    /// Number of data collections.
    #[serde(rename = "datacollections")]
    Datacollections,
}

/// Filters of the sub-sample list.
#[derive(Debug, Clone, Default)]
pub struct SubSampleFilter {
    /// One sub-sample.
    pub bl_sub_sample_id: Option<u32>,
    /// Sub-samples of this sample.
    pub bl_sample_id: Option<u32>,
    /// Of samples of this protein.
    pub protein_id: Option<u32>,
    /// Of samples in this container.
    pub container_id: Option<u32>,
    /// Proposal name.
    pub proposal: Option<String>,
    /// Sort key.
    pub order_by: Option<SubSampleOrderBy>,
    /// Sort direction (ascending when not given).
    pub order: Option<SortOrder>,
}

const SUBSAMPLE_FROM: &str = " FROM BLSubSample ss
    JOIN BLSample b ON b.blSampleId = ss.blSampleId
    JOIN Crystal c ON c.crystalId = b.crystalId
    JOIN Protein pr ON pr.proteinId = c.proteinId
    WHERE 1";

fn push_subsample_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &SubSampleFilter) {
    if let Some(id) = f.bl_sub_sample_id {
        q.push(" AND ss.blSubSampleId = ").push_bind(id);
    }
    if let Some(id) = f.bl_sample_id {
        q.push(" AND ss.blSampleId = ").push_bind(id);
    }
    if let Some(id) = f.protein_id {
        q.push(" AND pr.proteinId = ").push_bind(id);
    }
    if let Some(id) = f.container_id {
        q.push(" AND b.containerId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        push_proposal_name(q, "pr.proposalId", name);
    }
    push_visible(q, access, "pr.proposalId");
}

fn subsample_order(f: &SubSampleFilter) -> String {
    let dir = f.order.unwrap_or(SortOrder::Asc).sql();
    match f.order_by.unwrap_or_default() {
        SubSampleOrderBy::BlSubSampleId => format!(" ORDER BY ss.blSubSampleId {dir}"),
        SubSampleOrderBy::Datacollections => format!(
            " ORDER BY (SELECT COUNT(*) FROM DataCollection dc WHERE dc.blSubSampleId = ss.blSubSampleId) {dir},
              ss.blSubSampleId {dir}"
        ),
    }
}

/// Lists the sub-samples the caller may see.
pub async fn list_subsamples(
    db: &Db,
    access: &Access,
    filter: &SubSampleFilter,
    page: Page,
) -> crate::Result<Paged<SubSampleRow>> {
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*)");
    count.push(SUBSAMPLE_FROM);
    push_subsample_where(&mut count, access, filter);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;

    let mut q = QueryBuilder::<MySql>::new("SELECT ss.blSubSampleId");
    q.push(SUBSAMPLE_FROM);
    push_subsample_where(&mut q, access, filter);
    q.push(subsample_order(filter));
    q.push(" LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let ids: Vec<u32> = q.build_query_scalar().fetch_all(db.pool()).await?;
    if ids.is_empty() {
        return Ok(Paged::new(Vec::new(), total as u64, page));
    }

    let kind = match db.flavour() {
        Flavour::Dls => "ss.`type`",
        Flavour::Ispyb => "CAST(NULL AS CHAR)",
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, {kind} AS subSampleType, b.name AS sampleName,
           (SELECT COUNT(*) FROM DataCollection dc WHERE dc.blSubSampleId = ss.blSubSampleId) AS datacollections,
           (SELECT GROUP_CONCAT(DISTINCT dcg.experimentType ORDER BY CAST(dcg.experimentType AS CHAR)) FROM DataCollection dc
             JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
             WHERE dc.blSubSampleId = ss.blSubSampleId) AS types,
           p1.positionId AS pos1Id, p1.posX AS pos1X, p1.posY AS pos1Y,
           p2.positionId AS pos2Id, p2.posX AS pos2X, p2.posY AS pos2Y
         FROM BLSubSample ss JOIN BLSample b ON b.blSampleId = ss.blSampleId
         LEFT JOIN `Position` p1 ON p1.positionId = ss.positionId
         LEFT JOIN `Position` p2 ON p2.positionId = ss.position2Id
         WHERE ss.blSubSampleId IN (",
        <models::BlSubSample as Table>::meta().select("ss", db.flavour())
    ));
    push_ids(&mut q, &ids);
    q.push(")");
    let rows: Vec<SubSampleRow> = q.build_query_as().fetch_all(db.pool()).await?;

    let mut by_id: HashMap<u32, SubSampleRow> = HashMap::new();
    for mut r in rows {
        let p = &r.positions;
        r.position1 = PositionColumns::take(p.pos1_id, p.pos1_x, p.pos1_y);
        r.position2 = PositionColumns::take(p.pos2_id, p.pos2_x, p.pos2_y);
        by_id.insert(r.base.bl_sub_sample_id, r);
    }
    let results = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok(Paged::new(results, total as u64, page))
}

/// One visible sub-sample.
pub async fn find_subsample(db: &Db, access: &Access, bl_sub_sample_id: u32) -> crate::Result<Option<SubSampleRow>> {
    let filter = SubSampleFilter { bl_sub_sample_id: Some(bl_sub_sample_id), ..Default::default() };
    Ok(list_subsamples(db, access, &filter, Page { skip: 0, limit: 1 }).await?.results.pop())
}

// ---------------------------------------------------------------------------------------------
// Sample images
// ---------------------------------------------------------------------------------------------

/// A sample image (the row, its offsets and the URL that serves the file).
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = SampleImage)]
pub struct SampleImageRow {
    /// The `BLSampleImage` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::BlSampleImage,
    /// Horizontal offset of the image, pixels (`dls` schema; 0 otherwise).
    #[sqlx(rename = "offsetX")]
    #[serde(rename = "offsetX")]
    #[schema(value_type = i64)]
    pub offset_x: Int,
    /// Vertical offset of the image, pixels (`dls` schema; 0 otherwise).
    #[sqlx(rename = "offsetY")]
    #[serde(rename = "offsetY")]
    #[schema(value_type = i64)]
    pub offset_y: Int,
    /// Where to fetch the image.
    #[sqlx(skip)]
    #[serde(rename = "_metadata")]
    pub metadata: SampleImageMetadata,
}

/// Links of a sample image.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct SampleImageMetadata {
    /// URL of the image file (`{API_ROOT}/samples/images/{blSampleImageId}`).
    pub url: String,
}

/// Lists the images of the samples the caller may see, optionally of one sample or one image.
pub async fn list_images(
    db: &Db,
    access: &Access,
    bl_sample_id: Option<u32>,
    bl_sample_image_id: Option<u32>,
    page: Page,
) -> crate::Result<Paged<SampleImageRow>> {
    let push_where = |q: &mut QueryBuilder<MySql>| {
        q.push(
            " FROM BLSampleImage bi JOIN BLSample b ON b.blSampleId = bi.blSampleId
              JOIN Crystal c ON c.crystalId = b.crystalId JOIN Protein pr ON pr.proteinId = c.proteinId WHERE 1",
        );
        if let Some(id) = bl_sample_id {
            q.push(" AND bi.blSampleId = ").push_bind(id);
        }
        if let Some(id) = bl_sample_image_id {
            q.push(" AND bi.blSampleImageId = ").push_bind(id);
        }
        push_visible(q, access, "pr.proposalId");
    };
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*)");
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let offsets = match db.flavour() {
        Flavour::Dls => "bi.offsetX AS offsetX, bi.offsetY AS offsetY",
        Flavour::Ispyb => "0 AS offsetX, 0 AS offsetY",
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, {offsets}",
        <models::BlSampleImage as Table>::meta().select("bi", db.flavour())
    ));
    push_where(&mut q);
    q.push(" ORDER BY bi.blSampleImageId LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let rows = q.build_query_as::<SampleImageRow>().fetch_all(db.pool()).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// One visible sample image.
pub async fn find_image(db: &Db, access: &Access, bl_sample_image_id: u32) -> crate::Result<Option<SampleImageRow>> {
    Ok(list_images(db, access, None, Some(bl_sample_image_id), Page { skip: 0, limit: 1 }).await?.results.pop())
}

// ---------------------------------------------------------------------------------------------
// Lookups of the sample editor
// ---------------------------------------------------------------------------------------------

#[derive(FromRow)]
struct ComponentBase {
    #[sqlx(flatten)]
    base: models::Component,
    #[sqlx(rename = "componentTypeName")]
    component_type_name: String,
}

/// Components the caller may use: site-wide ones (no proposal) and those of visible proposals;
/// with `proposal`, the site-wide ones and that proposal's (nothing when it is unknown or
/// not visible).
pub async fn list_components(
    db: &Db,
    access: &Access,
    proposal: Option<&str>,
    page: Page,
) -> crate::Result<Paged<ComponentRow>> {
    let push_where = |q: &mut QueryBuilder<MySql>| {
        q.push(
            " FROM Component cp JOIN ComponentType ct ON ct.componentTypeId = cp.componentTypeId
              WHERE (cp.proposalId IS NULL OR 1",
        );
        push_visible(q, access, "cp.proposalId");
        q.push(")");
        if let Some(name) = proposal {
            q.push(" AND (cp.proposalId IS NULL OR 1");
            push_proposal_name(q, "cp.proposalId", name);
            q.push(") AND EXISTS (SELECT 1 FROM Proposal np WHERE CONCAT(np.proposalCode, np.proposalNumber) = ");
            q.push_bind(name.to_string());
            push_visible(q, access, "np.proposalId");
            q.push(")");
        }
    };
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*)");
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, ct.name AS componentTypeName",
        <models::Component as Table>::meta().select("cp", db.flavour())
    ));
    push_where(&mut q);
    q.push(" ORDER BY cp.componentId LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let rows = q
        .build_query_as::<ComponentBase>()
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|c| ComponentRow {
            component_type: models::ComponentType {
                component_type_id: c.base.component_type_id,
                name: c.component_type_name,
            },
            base: c.base,
        })
        .collect();
    Ok(Paged::new(rows, total as u64, page))
}

/// Every component type (`ComponentType`: Protein, DNA, Buffer, Ligand, …).
pub async fn component_types(db: &Db) -> crate::Result<Vec<models::ComponentType>> {
    let sql = format!(
        "SELECT {} FROM ComponentType ct ORDER BY ct.componentTypeId",
        <models::ComponentType as Table>::meta().select("ct", db.flavour())
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(db.pool()).await?)
}

/// The concentration units (`ConcentrationType`); in the `dls` schema only the active ones.
pub async fn concentration_types(db: &Db) -> crate::Result<Vec<models::ConcentrationType>> {
    let active = match db.flavour() {
        Flavour::Dls => " WHERE cty.active IS NULL OR cty.active = 1",
        Flavour::Ispyb => "",
    };
    let sql = format!(
        "SELECT {} FROM ConcentrationType cty{active} ORDER BY cty.concentrationTypeId",
        <models::ConcentrationType as Table>::meta().select("cty", db.flavour())
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(db.pool()).await?)
}

// ---------------------------------------------------------------------------------------------
// Writes: bodies
// ---------------------------------------------------------------------------------------------

/// A PATCH field as absent (`None`), `null` (`Some(None)`) or a value.
fn opt<T: Clone>(p: &Patch<T>) -> Option<Option<T>> {
    match p {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(v) => Some(Some(v.clone())),
    }
}

/// Body of `POST /samples`. Keys the server does not know are ignored.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SampleCreate {
    /// Sample name (not empty; at most the column's length: 100 characters, 45 in the `dls` schema).
    pub name: String,
    /// The crystal: `{"crystalId": …}` for an existing one (other crystal fields given then
    /// update it), or `{"Protein": {"proteinId": …}, …}` for a new one.
    #[serde(rename = "Crystal")]
    pub crystal: CrystalInput,
    /// What the sample is made of; `null` items are skipped.
    #[serde(default)]
    pub sample_compositions: Option<Vec<Option<CompositionInput>>>,
    /// Comments (at most 1024 characters).
    #[serde(default)]
    pub comments: Option<String>,
    /// Position in the container, 0 or more.
    #[serde(default)]
    pub location: Option<i64>,
    /// Container of the sample, of the same proposal as the protein.
    #[serde(rename = "containerId", default)]
    pub container_id: Option<u32>,
    /// Sample support (at most 45 characters).
    #[serde(rename = "loopType", default)]
    pub loop_type: Option<String>,
}

/// Body of `PATCH /samples/{blSampleId}`: only the fields given change, `null` clears a field.
/// The object `GET` returned may be sent back as it is (keys like `_metadata` are ignored).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SampleUpdate {
    /// New name (not null, not empty).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    /// New comments.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub comments: Patch<String>,
    /// New position in the container.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub location: Patch<i64>,
    /// New container (`null`: out of any container).
    #[serde(rename = "containerId", default)]
    #[schema(value_type = Option<u32>)]
    pub container_id: Patch<u32>,
    /// New sample support.
    #[serde(rename = "loopType", default)]
    #[schema(value_type = Option<String>)]
    pub loop_type: Patch<String>,
    /// Another crystal (`crystalId`), a new one (`Protein`), or changes to the current one
    /// (its `crystalId` with the fields to change).
    #[serde(rename = "Crystal", default)]
    pub crystal: Option<CrystalInput>,
    /// Replaces every composition of the sample (`null` or `[]` removes them).
    #[serde(default)]
    #[schema(value_type = Option<Vec<CompositionInput>>)]
    pub sample_compositions: Patch<Vec<Option<CompositionInput>>>,
}

/// The crystal of a sample being written.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = SampleCrystalInput)]
pub struct CrystalInput {
    /// An existing crystal.
    #[serde(rename = "crystalId", default)]
    pub crystal_id: Option<u32>,
    /// The protein of a new crystal (ignored with `crystalId` when it is the crystal's own).
    #[serde(rename = "Protein", default)]
    pub protein: Option<ProteinRef>,
    /// Cell a, Å.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub cell_a: Patch<f64>,
    /// Cell b, Å.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub cell_b: Patch<f64>,
    /// Cell c, Å.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub cell_c: Patch<f64>,
    /// Cell alpha, degrees.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub cell_alpha: Patch<f64>,
    /// Cell beta, degrees.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub cell_beta: Patch<f64>,
    /// Cell gamma, degrees.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub cell_gamma: Patch<f64>,
    /// Size along X.
    #[serde(rename = "size_X", default)]
    #[schema(value_type = Option<f64>)]
    pub size_x: Patch<f64>,
    /// Size along Y.
    #[serde(rename = "size_Y", default)]
    #[schema(value_type = Option<f64>)]
    pub size_y: Patch<f64>,
    /// Size along Z.
    #[serde(rename = "size_Z", default)]
    #[schema(value_type = Option<f64>)]
    pub size_z: Patch<f64>,
    /// What the crystal is made of; given, it replaces the crystal's compositions.
    #[serde(default)]
    #[schema(value_type = Option<Vec<CompositionInput>>)]
    pub crystal_compositions: Patch<Vec<Option<CompositionInput>>>,
}

/// A protein named by id.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
pub struct ProteinRef {
    /// `Protein.proteinId`.
    #[serde(rename = "proteinId")]
    pub protein_id: u32,
}

/// One component of a sample or crystal being written.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CompositionInput {
    /// An existing component (`componentId`) or a new one (`name`, `ComponentType`); a new one
    /// with the name and type of an existing component of the proposal reuses it.
    #[serde(rename = "Component")]
    pub component: ComponentInput,
    /// Abundance.
    #[serde(default)]
    pub abundance: Option<f64>,
    /// Ratio.
    #[serde(default)]
    pub ratio: Option<f64>,
    /// pH (0 to 14).
    #[serde(default)]
    pub ph: Option<f64>,
    /// Unit of `abundance`, from `GET /samples/concentration/types`.
    #[serde(rename = "ConcentrationType", default)]
    pub concentration_type: Option<ConcentrationTypeRef>,
}

/// A component named by id, or a new one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = ComponentInput)]
pub struct ComponentInput {
    /// An existing component (site-wide or of the sample's proposal).
    #[serde(rename = "componentId", default)]
    pub component_id: Option<u32>,
    /// Name of a new component (at most 255 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Its composition (at most 255 characters).
    #[serde(default)]
    pub composition: Option<String>,
    /// Its type, by id or by name (from `GET /samples/components/types`).
    #[serde(rename = "ComponentType", default)]
    pub component_type: Option<ComponentTypeInput>,
}

/// A component type, by id or name.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ComponentTypeInput {
    /// `ComponentType.componentTypeId`.
    #[serde(rename = "componentTypeId", default)]
    pub component_type_id: Option<u32>,
    /// `ComponentType.name`.
    #[serde(default)]
    pub name: Option<String>,
}

/// A concentration type, by id.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
pub struct ConcentrationTypeRef {
    /// `ConcentrationType.concentrationTypeId`.
    #[serde(rename = "concentrationTypeId")]
    pub concentration_type_id: u32,
}

// ---------------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------------

/// A field of a write body that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Where, FastAPI style: `["body", "Crystal", "cell_a"]`.
    pub loc: Vec<String>,
    /// What is wrong.
    pub msg: String,
    /// Machine-readable kind (`value_error…`).
    pub kind: &'static str,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The object, or one the body names, does not exist or is not visible to the caller
    /// (`"Sample"`, `"Crystal"`, `"Protein"`, `"Container"`, `"Component"`).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Body fields that cannot be used.
    #[error("invalid body")]
    Invalid(Vec<Invalid>),
    /// The sample is still referenced (data collections, sub-samples, …).
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::Error),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Db(e.into())
    }
}

fn invalid(loc: &[&str], msg: impl Into<String>, kind: &'static str) -> Invalid {
    Invalid { loc: loc.iter().map(|s| s.to_string()).collect(), msg: msg.into(), kind }
}

fn at(loc: &[String], more: &[&str]) -> Vec<String> {
    loc.iter().cloned().chain(more.iter().map(|s| s.to_string())).collect()
}

/// Largest length of a `varchar(N)` column in the flavour.
fn max_len(meta: &TableMeta, column: &str, flavour: Flavour) -> Option<usize> {
    let ty = meta.column(column)?.type_in(flavour)?;
    ty.strip_prefix("varchar(")?.strip_suffix(')')?.parse().ok()
}

struct Checker {
    flavour: Flavour,
    errors: Vec<Invalid>,
}

impl Checker {
    fn text(&mut self, loc: Vec<String>, value: Option<&str>, meta: &TableMeta, column: &str, required: bool) {
        let Some(v) = value else { return };
        if required && v.trim().is_empty() {
            self.errors.push(Invalid { loc, msg: "may not be empty".into(), kind: "value_error.any_str.min_length" });
            return;
        }
        if let Some(max) = max_len(meta, column, self.flavour)
            && v.chars().count() > max
        {
            self.errors.push(Invalid {
                loc,
                msg: format!("ensure this value has at most {max} characters"),
                kind: "value_error.any_str.max_length",
            });
        }
    }

    fn location(&mut self, loc: Vec<String>, value: Option<i64>) {
        if let Some(v) = value
            && !(0..=i64::from(i32::MAX)).contains(&v)
        {
            self.errors.push(Invalid {
                loc,
                msg: "ensure this value is between 0 and 2147483647".into(),
                kind: "value_error.number.not_in_range",
            });
        }
    }

    fn float(&mut self, loc: Vec<String>, value: Option<f64>) {
        if let Some(v) = value
            && !(v.is_finite() && v.abs() <= f64::from(f32::MAX))
        {
            self.errors.push(Invalid { loc, msg: "value is out of range".into(), kind: "value_error.number.not_le" });
        }
    }

    fn crystal(&mut self, loc: &[String], c: &CrystalInput) {
        if c.crystal_id.is_none() && c.protein.is_none() {
            self.errors.push(Invalid {
                loc: at(loc, &["Protein"]),
                msg: "field required: give crystalId (an existing crystal) or Protein (a new crystal)".into(),
                kind: "value_error.missing",
            });
        }
        for (name, v) in c.numbers() {
            self.float(at(loc, &[name]), v.flatten());
        }
        if let Patch::Value(list) = &c.crystal_compositions {
            self.compositions(&at(loc, &["crystal_compositions"]), list);
        }
    }

    fn compositions(&mut self, loc: &[String], list: &[Option<CompositionInput>]) {
        let meta = <models::Component as Table>::meta();
        for (i, c) in list.iter().enumerate() {
            let Some(c) = c else { continue };
            let here = at(loc, &[&i.to_string()]);
            let comp = at(&here, &["Component"]);
            if c.component.component_id.is_none() {
                if c.component.name.is_none() {
                    self.errors.push(Invalid {
                        loc: at(&comp, &["name"]),
                        msg: "field required: give componentId (an existing component) or name and ComponentType"
                            .into(),
                        kind: "value_error.missing",
                    });
                }
                self.text(at(&comp, &["name"]), c.component.name.as_deref(), meta, "name", true);
                self.text(at(&comp, &["composition"]), c.component.composition.as_deref(), meta, "composition", false);
                match &c.component.component_type {
                    Some(t) if t.component_type_id.is_some() || t.name.is_some() => {}
                    _ => self.errors.push(Invalid {
                        loc: at(&comp, &["ComponentType"]),
                        msg: "field required: the type of a new component (componentTypeId or name)".into(),
                        kind: "value_error.missing",
                    }),
                }
            }
            self.float(at(&here, &["abundance"]), c.abundance);
            self.float(at(&here, &["ratio"]), c.ratio);
            if let Some(ph) = c.ph
                && !(0.0..=14.0).contains(&ph)
            {
                self.errors.push(Invalid {
                    loc: at(&here, &["ph"]),
                    msg: "ensure this value is between 0 and 14".into(),
                    kind: "value_error.number.not_in_range",
                });
            }
        }
    }

    fn finish(self) -> Result<(), WriteError> {
        if self.errors.is_empty() { Ok(()) } else { Err(WriteError::Invalid(self.errors)) }
    }
}

impl CrystalInput {
    fn numbers(&self) -> [(&'static str, Option<Option<f64>>); 9] {
        [
            ("cell_a", opt(&self.cell_a)),
            ("cell_b", opt(&self.cell_b)),
            ("cell_c", opt(&self.cell_c)),
            ("cell_alpha", opt(&self.cell_alpha)),
            ("cell_beta", opt(&self.cell_beta)),
            ("cell_gamma", opt(&self.cell_gamma)),
            ("size_X", opt(&self.size_x)),
            ("size_Y", opt(&self.size_y)),
            ("size_Z", opt(&self.size_z)),
        ]
    }

    fn has_changes(&self) -> bool {
        self.numbers().iter().any(|(_, v)| v.is_some())
    }
}

fn body(fields: &[&str]) -> Vec<String> {
    std::iter::once("body").chain(fields.iter().copied()).map(String::from).collect()
}

type Tx = sqlx::Transaction<'static, MySql>;

/// A crystal the write will use: its id (none yet for a new one), protein and proposal.
struct CrystalTarget {
    crystal_id: Option<u32>,
    protein_id: u32,
    proposal_id: u32,
}

/// Resolves the crystal part of a body; 404 when the crystal or protein is not visible.
async fn resolve_crystal(tx: &mut Tx, access: &Access, c: &CrystalInput) -> Result<CrystalTarget, WriteError> {
    if let Some(crystal_id) = c.crystal_id {
        let mut q = QueryBuilder::<MySql>::new(
            "SELECT pr.proteinId, pr.proposalId FROM Crystal c JOIN Protein pr ON pr.proteinId = c.proteinId
             WHERE c.crystalId = ",
        );
        q.push_bind(crystal_id);
        push_visible(&mut q, access, "pr.proposalId");
        q.push(" FOR UPDATE");
        let (protein_id, proposal_id): (u32, u32) =
            q.build_query_as().fetch_optional(&mut **tx).await?.ok_or(WriteError::NotFound("Crystal"))?;
        if let Some(p) = c.protein
            && p.protein_id != protein_id
        {
            return Err(WriteError::Invalid(vec![invalid(
                &["body", "Crystal", "Protein", "proteinId"],
                "is not the protein of this crystal: to change the protein, give a new crystal (no crystalId)",
                "value_error",
            )]));
        }
        return Ok(CrystalTarget { crystal_id: Some(crystal_id), protein_id, proposal_id });
    }
    let protein_id = c.protein.map(|p| p.protein_id).unwrap_or_default();
    let mut q = QueryBuilder::<MySql>::new("SELECT pr.proposalId FROM Protein pr WHERE pr.proteinId = ");
    q.push_bind(protein_id);
    push_visible(&mut q, access, "pr.proposalId");
    let proposal_id: u32 =
        q.build_query_scalar().fetch_optional(&mut **tx).await?.ok_or(WriteError::NotFound("Protein"))?;
    Ok(CrystalTarget { crystal_id: None, protein_id, proposal_id })
}

/// The proposal of a visible container; 404 otherwise.
async fn container_proposal(tx: &mut Tx, access: &Access, container_id: u32) -> Result<u32, WriteError> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT sh.proposalId FROM Container co JOIN Dewar d ON d.dewarId = co.dewarId
         JOIN Shipping sh ON sh.shippingId = d.shippingId WHERE co.containerId = ",
    );
    q.push_bind(container_id);
    push_visible(&mut q, access, "sh.proposalId");
    q.build_query_scalar().fetch_optional(&mut **tx).await?.ok_or(WriteError::NotFound("Container"))
}

/// A composition with every reference resolved.
struct ResolvedComposition {
    component: ResolvedComponent,
    abundance: Option<f32>,
    ratio: Option<f32>,
    ph: Option<f32>,
    concentration_type_id: Option<u32>,
}

enum ResolvedComponent {
    Existing(u32),
    New { name: String, composition: Option<String>, component_type_id: u32 },
}

/// Checks the compositions' references, without writing: components must be site-wide or of
/// `proposal_id` (404 when not visible to the caller), types and units must exist (422).
async fn resolve_compositions(
    tx: &mut Tx,
    access: &Access,
    proposal_id: u32,
    loc: &[String],
    list: &[Option<CompositionInput>],
) -> Result<Vec<ResolvedComposition>, WriteError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let Some(c) = c else { continue };
        let here = at(loc, &[&i.to_string()]);
        let component = if let Some(id) = c.component.component_id {
            let owner: Option<Option<u32>> =
                sqlx::query_scalar("SELECT proposalId FROM Component WHERE componentId = ?")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
            match owner {
                None => return Err(WriteError::NotFound("Component")),
                Some(None) => {}
                Some(Some(p)) if p == proposal_id => {}
                Some(Some(p)) => {
                    let mut q = QueryBuilder::<MySql>::new("SELECT 1 FROM Proposal p WHERE p.proposalId = ");
                    q.push_bind(p);
                    push_visible(&mut q, access, "p.proposalId");
                    if q.build().fetch_optional(&mut **tx).await?.is_none() {
                        return Err(WriteError::NotFound("Component"));
                    }
                    errors.push(Invalid {
                        loc: at(&here, &["Component", "componentId"]),
                        msg: "belongs to another proposal than the sample's protein".into(),
                        kind: "value_error",
                    });
                }
            }
            ResolvedComponent::Existing(id)
        } else {
            let t = c.component.component_type.clone().unwrap_or_default();
            let type_id: Option<u32> = match (t.component_type_id, &t.name) {
                (Some(id), _) => {
                    sqlx::query_scalar("SELECT componentTypeId FROM ComponentType WHERE componentTypeId = ?")
                        .bind(id)
                        .fetch_optional(&mut **tx)
                        .await?
                }
                (None, Some(name)) => {
                    sqlx::query_scalar(
                        "SELECT componentTypeId FROM ComponentType WHERE name = ? ORDER BY componentTypeId LIMIT 1",
                    )
                    .bind(name)
                    .fetch_optional(&mut **tx)
                    .await?
                }
                (None, None) => None,
            };
            let Some(component_type_id) = type_id else {
                errors.push(Invalid {
                    loc: at(&here, &["Component", "ComponentType"]),
                    msg: "unknown component type (see GET /samples/components/types)".into(),
                    kind: "value_error",
                });
                continue;
            };
            let name = c.component.name.clone().unwrap_or_default().trim().to_string();
            let existing: Option<u32> = sqlx::query_scalar(
                "SELECT componentId FROM Component WHERE name = ? AND componentTypeId = ? AND proposalId = ?
                 ORDER BY componentId LIMIT 1",
            )
            .bind(&name)
            .bind(component_type_id)
            .bind(proposal_id)
            .fetch_optional(&mut **tx)
            .await?;
            match existing {
                Some(id) => ResolvedComponent::Existing(id),
                None => {
                    ResolvedComponent::New { name, composition: c.component.composition.clone(), component_type_id }
                }
            }
        };
        if let Some(t) = c.concentration_type {
            let found: Option<u32> =
                sqlx::query_scalar("SELECT concentrationTypeId FROM ConcentrationType WHERE concentrationTypeId = ?")
                    .bind(t.concentration_type_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            if found.is_none() {
                errors.push(Invalid {
                    loc: at(&here, &["ConcentrationType", "concentrationTypeId"]),
                    msg: "unknown concentration type (see GET /samples/concentration/types)".into(),
                    kind: "value_error",
                });
            }
        }
        out.push(ResolvedComposition {
            component,
            abundance: c.abundance.map(|v| v as f32),
            ratio: c.ratio.map(|v| v as f32),
            ph: c.ph.map(|v| v as f32),
            concentration_type_id: c.concentration_type.map(|t| t.concentration_type_id),
        });
    }
    if errors.is_empty() { Ok(out) } else { Err(WriteError::Invalid(errors)) }
}

/// Writes compositions (creating new components once each) for a sample or a crystal.
async fn insert_compositions(
    tx: &mut Tx,
    owner: CompositionOwner,
    owner_id: u32,
    proposal_id: u32,
    list: Vec<ResolvedComposition>,
    created: &mut HashMap<(String, u32), u32>,
) -> Result<(), WriteError> {
    let (table, key) = match owner {
        CompositionOwner::Sample => ("SampleComposition", "blSampleId"),
        CompositionOwner::Crystal => ("CrystalComposition", "crystalId"),
    };
    for c in list {
        let component_id = match c.component {
            ResolvedComponent::Existing(id) => id,
            ResolvedComponent::New { name, composition, component_type_id } => {
                if let Some(id) = created.get(&(name.clone(), component_type_id)) {
                    *id
                } else {
                    let r = sqlx::query(
                        "INSERT INTO Component (componentTypeId, proposalId, name, composition) VALUES (?, ?, ?, ?)",
                    )
                    .bind(component_type_id)
                    .bind(proposal_id)
                    .bind(&name)
                    .bind(composition)
                    .execute(&mut **tx)
                    .await?;
                    let id = r.last_insert_id() as u32;
                    created.insert((name, component_type_id), id);
                    id
                }
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} ({key}, componentId, concentrationTypeId, abundance, ratio, ph) VALUES (?, ?, ?, ?, ?, ?)"
        )))
        .bind(owner_id)
        .bind(component_id)
        .bind(c.concentration_type_id)
        .bind(c.abundance)
        .bind(c.ratio)
        .bind(c.ph)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Writes the crystal part: a new crystal (returns its id) or changes to an existing one.
async fn write_crystal(
    tx: &mut Tx,
    target: &CrystalTarget,
    input: &CrystalInput,
    compositions: Option<Vec<ResolvedComposition>>,
    created: &mut HashMap<(String, u32), u32>,
) -> Result<u32, WriteError> {
    let crystal_id = match target.crystal_id {
        Some(id) => {
            if input.has_changes() {
                let mut q = QueryBuilder::<MySql>::new("UPDATE Crystal SET ");
                let mut sep = q.separated(", ");
                for (name, v) in input.numbers() {
                    if let Some(v) = v {
                        sep.push(format_args!("`{name}` = ")).push_bind_unseparated(v);
                    }
                }
                q.push(" WHERE crystalId = ").push_bind(id);
                q.build().execute(&mut **tx).await?;
            }
            if compositions.is_some() {
                sqlx::query("DELETE FROM CrystalComposition WHERE crystalId = ?").bind(id).execute(&mut **tx).await?;
            }
            id
        }
        None => {
            let mut q = QueryBuilder::<MySql>::new("INSERT INTO Crystal (proteinId");
            let numbers = input.numbers();
            for (name, _) in &numbers {
                q.push(format_args!(", `{name}`"));
            }
            q.push(") VALUES (").push_bind(target.protein_id);
            for (_, v) in numbers {
                q.push(", ").push_bind(v.flatten());
            }
            q.push(")");
            q.build().execute(&mut **tx).await?.last_insert_id() as u32
        }
    };
    if let Some(list) = compositions {
        insert_compositions(tx, CompositionOwner::Crystal, crystal_id, target.proposal_id, list, created).await?;
    }
    Ok(crystal_id)
}

/// The compositions a body gives (`null` is an empty list), `None` when it gives none.
fn items(list: &Patch<Vec<Option<CompositionInput>>>) -> Option<&[Option<CompositionInput>]> {
    match list {
        Patch::Absent => None,
        Patch::Null => Some(&[]),
        Patch::Value(v) => Some(v),
    }
}

/// Creates a sample (and, when asked, its crystal and new components); returns its id.
pub async fn create(db: &Db, access: &Access, input: &SampleCreate) -> Result<u32, WriteError> {
    let meta = <models::BlSample as Table>::meta();
    let mut check = Checker { flavour: db.flavour(), errors: Vec::new() };
    check.text(body(&["name"]), Some(&input.name), meta, "name", true);
    check.text(body(&["comments"]), input.comments.as_deref(), meta, "comments", false);
    check.text(body(&["loopType"]), input.loop_type.as_deref(), meta, "loopType", false);
    check.location(body(&["location"]), input.location);
    check.crystal(&body(&["Crystal"]), &input.crystal);
    if let Some(list) = &input.sample_compositions {
        check.compositions(&body(&["sample_compositions"]), list);
    }
    check.finish()?;

    let mut tx = db.pool().begin().await?;
    // Everything the body refers to, and the caller's right to it, before the first write.
    let crystal = resolve_crystal(&mut tx, access, &input.crystal).await?;
    if let Some(container_id) = input.container_id
        && container_proposal(&mut tx, access, container_id).await? != crystal.proposal_id
    {
        return Err(WriteError::Invalid(vec![invalid(
            &["body", "containerId"],
            "the container belongs to another proposal than the crystal's protein",
            "value_error",
        )]));
    }
    let crystal_comps = match items(&input.crystal.crystal_compositions) {
        Some(list) => Some(
            resolve_compositions(
                &mut tx,
                access,
                crystal.proposal_id,
                &body(&["Crystal", "crystal_compositions"]),
                list,
            )
            .await?,
        ),
        None => None,
    };
    let sample_comps = match &input.sample_compositions {
        Some(list) => {
            resolve_compositions(&mut tx, access, crystal.proposal_id, &body(&["sample_compositions"]), list).await?
        }
        None => Vec::new(),
    };

    let mut created = HashMap::new();
    let crystal_id = write_crystal(&mut tx, &crystal, &input.crystal, crystal_comps, &mut created).await?;
    let r = sqlx::query(
        "INSERT INTO BLSample (name, comments, location, containerId, loopType, crystalId) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(input.name.trim())
    .bind(&input.comments)
    .bind(input.location.map(|l| l.to_string()))
    .bind(input.container_id)
    .bind(&input.loop_type)
    .bind(crystal_id)
    .execute(&mut *tx)
    .await?;
    let id = r.last_insert_id() as u32;
    insert_compositions(&mut tx, CompositionOwner::Sample, id, crystal.proposal_id, sample_comps, &mut created).await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes the fields a body gives; 404 when the sample is not visible.
pub async fn update(db: &Db, access: &Access, bl_sample_id: u32, input: &SampleUpdate) -> Result<(), WriteError> {
    let meta = <models::BlSample as Table>::meta();
    let mut check = Checker { flavour: db.flavour(), errors: Vec::new() };
    match &input.name {
        Patch::Null => {
            check.errors.push(invalid(&["body", "name"], "none is not an allowed value", "type_error.none.not_allowed"))
        }
        Patch::Value(name) => check.text(body(&["name"]), Some(name), meta, "name", true),
        Patch::Absent => {}
    }
    check.text(body(&["comments"]), input.comments.value().map(String::as_str), meta, "comments", false);
    check.text(body(&["loopType"]), input.loop_type.value().map(String::as_str), meta, "loopType", false);
    check.location(body(&["location"]), input.location.value().copied());
    if let Some(c) = &input.crystal {
        check.crystal(&body(&["Crystal"]), c);
    }
    if let Some(list) = items(&input.sample_compositions) {
        check.compositions(&body(&["sample_compositions"]), list);
    }
    check.finish()?;

    let mut tx = db.pool().begin().await?;
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT b.crystalId, b.containerId, pr.proposalId FROM BLSample b JOIN Crystal c ON c.crystalId = b.crystalId
         JOIN Protein pr ON pr.proteinId = c.proteinId WHERE b.blSampleId = ",
    );
    q.push_bind(bl_sample_id);
    push_visible(&mut q, access, "pr.proposalId");
    q.push(" FOR UPDATE");
    let (current_crystal, current_container, current_proposal): (u32, Option<u32>, u32) =
        q.build_query_as().fetch_optional(&mut *tx).await?.ok_or(WriteError::NotFound("Sample"))?;

    let crystal = match &input.crystal {
        Some(c) => resolve_crystal(&mut tx, access, c).await?,
        None => CrystalTarget { crystal_id: Some(current_crystal), protein_id: 0, proposal_id: current_proposal },
    };
    // The sample's container and crystal must stay in one proposal (checked when either changes).
    match opt(&input.container_id) {
        Some(Some(container_id)) if container_proposal(&mut tx, access, container_id).await? != crystal.proposal_id => {
            return Err(WriteError::Invalid(vec![invalid(
                &["body", "containerId"],
                "the container belongs to another proposal than the crystal's protein",
                "value_error",
            )]));
        }
        Some(_) => {}
        None if input.crystal.is_some() && crystal.proposal_id != current_proposal => {
            if let Some(container_id) = current_container {
                let owner: Option<u32> = sqlx::query_scalar(
                    "SELECT sh.proposalId FROM Container co JOIN Dewar d ON d.dewarId = co.dewarId
                     JOIN Shipping sh ON sh.shippingId = d.shippingId WHERE co.containerId = ?",
                )
                .bind(container_id)
                .fetch_optional(&mut *tx)
                .await?;
                if owner.is_some_and(|p| p != crystal.proposal_id) {
                    return Err(WriteError::Invalid(vec![invalid(
                        &["body", "Crystal"],
                        "the crystal's protein belongs to another proposal than the sample's container",
                        "value_error",
                    )]));
                }
            }
        }
        None => {}
    }
    let crystal_comps = match input.crystal.as_ref().and_then(|c| items(&c.crystal_compositions)) {
        Some(list) => Some(
            resolve_compositions(
                &mut tx,
                access,
                crystal.proposal_id,
                &body(&["Crystal", "crystal_compositions"]),
                list,
            )
            .await?,
        ),
        None => None,
    };
    let sample_comps = match items(&input.sample_compositions) {
        Some(list) => Some(
            resolve_compositions(&mut tx, access, crystal.proposal_id, &body(&["sample_compositions"]), list).await?,
        ),
        None => None,
    };

    let mut created = HashMap::new();
    let crystal_id = match &input.crystal {
        Some(c) => Some(write_crystal(&mut tx, &crystal, c, crystal_comps, &mut created).await?),
        None => None,
    };
    let mut q = QueryBuilder::<MySql>::new("UPDATE BLSample SET blSampleId = blSampleId");
    if let Patch::Value(name) = &input.name {
        q.push(", name = ").push_bind(name.trim().to_string());
    }
    if let Some(v) = opt(&input.comments) {
        q.push(", comments = ").push_bind(v);
    }
    if let Some(v) = opt(&input.location) {
        q.push(", location = ").push_bind(v.map(|l| l.to_string()));
    }
    if let Some(v) = opt(&input.container_id) {
        q.push(", containerId = ").push_bind(v);
    }
    if let Some(v) = opt(&input.loop_type) {
        q.push(", loopType = ").push_bind(v);
    }
    if let Some(id) = crystal_id {
        q.push(", crystalId = ").push_bind(id);
    }
    q.push(" WHERE blSampleId = ").push_bind(bl_sample_id);
    q.build().execute(&mut *tx).await?;
    if let Some(list) = sample_comps {
        sqlx::query("DELETE FROM SampleComposition WHERE blSampleId = ?").bind(bl_sample_id).execute(&mut *tx).await?;
        insert_compositions(&mut tx, CompositionOwner::Sample, bl_sample_id, crystal.proposal_id, list, &mut created)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes a sample with its compositions and (data-less) nothing else; 409 when experiment
/// records refer to it, 404 when it is not visible. Its crystal stays (others may share it).
pub async fn delete(db: &Db, access: &Access, bl_sample_id: u32) -> Result<(), WriteError> {
    let mut tx = db.pool().begin().await?;
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT b.blSampleId FROM BLSample b JOIN Crystal c ON c.crystalId = b.crystalId
         JOIN Protein pr ON pr.proteinId = c.proteinId WHERE b.blSampleId = ",
    );
    q.push_bind(bl_sample_id);
    push_visible(&mut q, access, "pr.proposalId");
    // Locks the row: a data collection being attached now waits for this transaction.
    q.push(" FOR UPDATE");
    q.build().fetch_optional(&mut *tx).await?.ok_or(WriteError::NotFound("Sample"))?;

    // In the `ispyb` schema these rows would be deleted in cascade with the sample: refuse.
    let (dcs, subsamples, other): (bool, bool, bool) = sqlx::query_as(
        "SELECT
           EXISTS (SELECT 1 FROM DataCollectionGroup dcg WHERE dcg.blSampleId = ?)
             OR EXISTS (SELECT 1 FROM DataCollection dc JOIN BLSubSample ss ON ss.blSubSampleId = dc.blSubSampleId
                        WHERE ss.blSampleId = ?),
           EXISTS (SELECT 1 FROM BLSubSample ss WHERE ss.blSampleId = ?),
           EXISTS (SELECT 1 FROM RobotAction ra WHERE ra.blsampleId = ?)
             OR EXISTS (SELECT 1 FROM EnergyScan es WHERE es.blSampleId = ?)
             OR EXISTS (SELECT 1 FROM XFEFluorescenceSpectrum xs WHERE xs.blSampleId = ?)
             OR EXISTS (SELECT 1 FROM BLSampleImage bi WHERE bi.blSampleId = ?)",
    )
    .bind(bl_sample_id)
    .bind(bl_sample_id)
    .bind(bl_sample_id)
    .bind(bl_sample_id)
    .bind(bl_sample_id)
    .bind(bl_sample_id)
    .bind(bl_sample_id)
    .fetch_one(&mut *tx)
    .await?;
    if dcs {
        return Err(WriteError::Conflict(
            "Sample cannot be deleted because it is associated with data collections".into(),
        ));
    }
    if subsamples {
        return Err(WriteError::Conflict("Sample cannot be deleted because it is associated with sub samples".into()));
    }
    if other {
        return Err(WriteError::Conflict(
            "Sample cannot be deleted because it has experiment records (robot actions, energy scans, fluorescence spectra or images)"
                .into(),
        ));
    }
    sqlx::query("DELETE FROM SampleComposition WHERE blSampleId = ?").bind(bl_sample_id).execute(&mut *tx).await?;
    match sqlx::query("DELETE FROM BLSample WHERE blSampleId = ?").bind(bl_sample_id).execute(&mut *tx).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation => {
            return Err(WriteError::Conflict(
                "Sample cannot be deleted because other records still refer to it".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lengths_follow_the_flavour() {
        let meta = <models::BlSample as Table>::meta();
        assert_eq!(max_len(meta, "name", Flavour::Ispyb), Some(100));
        assert_eq!(max_len(meta, "name", Flavour::Dls), Some(45));
        assert_eq!(max_len(meta, "comments", Flavour::Ispyb), Some(1024));
    }

    #[test]
    fn bodies_name_their_bad_fields() {
        let input: SampleCreate = serde_json::from_value(serde_json::json!({
            "name": " ", "Crystal": {"cell_a": 1e300},
            "sample_compositions": [null, {"Component": {}, "ph": 15}],
            "location": -1
        }))
        .unwrap();
        let meta = <models::BlSample as Table>::meta();
        let mut c = Checker { flavour: Flavour::Ispyb, errors: Vec::new() };
        c.text(body(&["name"]), Some(&input.name), meta, "name", true);
        c.location(body(&["location"]), input.location);
        c.crystal(&body(&["Crystal"]), &input.crystal);
        c.compositions(&body(&["sample_compositions"]), input.sample_compositions.as_deref().unwrap());
        let locs: Vec<String> = c.errors.iter().map(|e| e.loc.join(".")).collect();
        assert_eq!(
            locs,
            [
                "body.name",
                "body.location",
                "body.Crystal.Protein",
                "body.Crystal.cell_a",
                "body.sample_compositions.1.Component.name",
                "body.sample_compositions.1.Component.ComponentType",
                "body.sample_compositions.1.ph",
            ]
        );
    }

    #[test]
    fn update_bodies_tell_absent_from_null() {
        let u: SampleUpdate = serde_json::from_value(serde_json::json!({"comments": null, "_metadata": {}})).unwrap();
        assert_eq!(u.comments, Patch::Null);
        assert_eq!(u.name, Patch::Absent);
        assert!(items(&u.sample_compositions).is_none());
    }
}
