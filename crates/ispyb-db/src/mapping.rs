//! X-ray fluorescence maps (`XRFFluorescenceMapping`) and their regions of interest.
//!
//! Maps as py-ISPyB serves them exist in the `dls` flavour only: a map there has its grid
//! (`gridInfoId`), its values (`data`, a JSON list, gzipped for `json+gzip`), colour map,
//! opacity and range. The `ispyb` flavour's table holds one count per image instead and its
//! ROIs have no sample: there the lists are empty and single maps are not found.

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::Flavour;
use crate::{Access, Db, Page, Paged};

/// Whether the schema has grid maps.
pub fn has_maps(db: &Db) -> bool {
    db.flavour() == Flavour::Dls
}

/// A region of interest of a map.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = MapROI)]
pub struct MapRoi {
    /// Id.
    #[sqlx(rename = "xrfFluorescenceMappingROIId")]
    #[serde(rename = "xrfFluorescenceMappingROIId")]
    pub id: u32,
    /// Element.
    pub element: Option<String>,
    /// Edge.
    pub edge: Option<String>,
    /// Scalar (instead of an element).
    pub scalar: Option<String>,
    /// Start energy, eV.
    #[sqlx(rename = "startEnergy")]
    #[serde(rename = "startEnergy")]
    pub start_energy: f32,
    /// End energy, eV.
    #[sqlx(rename = "endEnergy")]
    #[serde(rename = "endEnergy")]
    pub end_energy: f32,
    /// Sample of the ROI.
    #[sqlx(rename = "blSampleId")]
    #[serde(rename = "blSampleId")]
    pub bl_sample_id: Option<u32>,
}

/// The grid of a map.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct MapGrid {
    /// Id.
    #[sqlx(rename = "gridInfoId")]
    #[serde(rename = "gridInfoId")]
    pub grid_info_id: u32,
    /// Columns.
    pub steps_x: Option<f64>,
    /// Rows.
    pub steps_y: Option<f64>,
    /// Every second row reversed.
    pub snaked: Option<bool>,
    /// `horizontal` or `vertical`.
    pub orientation: Option<String>,
}

/// `_metadata` of a map.
#[derive(Debug, Clone, PartialEq, Default, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct MapMetadata {
    /// Image route.
    #[sqlx(skip)]
    pub url: String,
    /// Sub-sample of the data collection.
    #[sqlx(rename = "blSubSampleId")]
    #[serde(rename = "blSubSampleId")]
    pub bl_sub_sample_id: Option<u32>,
    /// Sample of the data collection group.
    #[sqlx(rename = "blSampleId")]
    #[serde(rename = "blSampleId")]
    pub bl_sample_id: Option<u32>,
    /// Data collection.
    #[sqlx(rename = "dataCollectionId")]
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: Option<u32>,
}

/// A map with its grid and ROI.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Map)]
pub struct Map {
    /// Id.
    #[sqlx(rename = "xrfFluorescenceMappingId")]
    #[serde(rename = "xrfFluorescenceMappingId")]
    pub id: u32,
    /// Matplotlib colour map name.
    #[sqlx(rename = "colourMap")]
    #[serde(rename = "colourMap")]
    pub colour_map: Option<String>,
    /// Opacity.
    pub opacity: Option<f32>,
    /// Points measured so far.
    pub points: Option<u32>,
    /// `json` or `json+gzip`.
    #[sqlx(rename = "dataFormat")]
    #[serde(rename = "dataFormat")]
    pub data_format: Option<String>,
    /// Value shown as the lowest colour.
    #[sqlx(rename = "min")]
    #[serde(skip)]
    pub min: Option<i64>,
    /// Value shown as the highest colour.
    #[sqlx(rename = "max")]
    #[serde(skip)]
    pub max: Option<i64>,
    /// Links.
    #[sqlx(flatten)]
    #[serde(rename = "_metadata")]
    pub metadata: MapMetadata,
    /// The grid.
    #[sqlx(flatten)]
    #[serde(rename = "GridInfo")]
    pub grid: MapGrid,
    /// The region of interest.
    #[sqlx(skip)]
    #[serde(rename = "XRFFluorescenceMappingROI")]
    pub roi: Option<MapRoi>,
    /// ROI id.
    #[sqlx(rename = "xrfFluorescenceMappingROIId")]
    #[serde(skip)]
    pub roi_id: u32,
}

/// Filters of the map list.
#[derive(Debug, Clone, Default)]
pub struct MapFilter {
    /// One map.
    pub id: Option<u32>,
    /// Maps of a data collection.
    pub data_collection_id: Option<u32>,
    /// Maps of a data collection group.
    pub data_collection_group_id: Option<u32>,
    /// Maps of a sample.
    pub bl_sample_id: Option<u32>,
    /// Maps of a sub-sample.
    pub bl_sub_sample_id: Option<u32>,
}

const MAP_FROM: &str = " FROM XRFFluorescenceMapping m
     JOIN GridInfo g ON g.gridInfoId = m.gridInfoId
     JOIN DataCollection dc ON dc.dataCollectionId = g.dataCollectionId
       OR (g.dataCollectionId IS NULL AND dc.dataCollectionGroupId = g.dataCollectionGroupId)
     JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
     JOIN BLSession s ON s.sessionId = dcg.sessionId
     JOIN Proposal p ON p.proposalId = s.proposalId WHERE 1";

fn push_map_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &MapFilter) {
    if let Some(id) = f.id {
        q.push(" AND m.xrfFluorescenceMappingId = ").push_bind(id);
    }
    if let Some(id) = f.data_collection_id {
        q.push(" AND dc.dataCollectionId = ").push_bind(id);
    }
    if let Some(id) = f.data_collection_group_id {
        q.push(" AND dcg.dataCollectionGroupId = ").push_bind(id);
    }
    if let Some(id) = f.bl_sample_id {
        q.push(" AND (dcg.blSampleId = ").push_bind(id).push(" OR dc.BLSAMPLEID = ").push_bind(id).push(")");
    }
    if let Some(id) = f.bl_sub_sample_id {
        q.push(" AND dc.blSubSampleId = ").push_bind(id);
    }
    access.push_filter(q, "p.proposalId", "s");
}

const MAP_SELECT: &str = "SELECT DISTINCT m.xrfFluorescenceMappingId, m.colourMap, m.opacity, m.points, m.dataFormat,
       CAST(m.min AS SIGNED) AS min, CAST(m.max AS SIGNED) AS max, m.xrfFluorescenceMappingROIId,
       dc.blSubSampleId, dcg.blSampleId, dc.dataCollectionId,
       g.gridInfoId, CAST(g.steps_x AS DOUBLE) AS steps_x, CAST(g.steps_y AS DOUBLE) AS steps_y, g.snaked, g.orientation";

async fn attach_rois(db: &Db, maps: &mut [Map]) -> crate::Result<()> {
    let ids: Vec<u32> = maps.iter().map(|m| m.roi_id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT r.xrfFluorescenceMappingROIId, r.element, r.edge, r.scalar, r.startEnergy, r.endEnergy, r.blSampleId
         FROM XRFFluorescenceMappingROI r WHERE r.xrfFluorescenceMappingROIId IN (",
    );
    crate::sql::push_ids(&mut q, &ids);
    q.push(")");
    let rois: Vec<MapRoi> = q.build_query_as().fetch_all(db.pool()).await?;
    for m in maps {
        m.roi = rois.iter().find(|r| r.id == m.roi_id).cloned();
    }
    Ok(())
}

/// Visible maps, by id.
pub async fn list(db: &Db, access: &Access, f: &MapFilter, page: Page) -> crate::Result<Paged<Map>> {
    if !has_maps(db) {
        return Ok(Paged::new(Vec::new(), 0, page));
    }
    let mut count = QueryBuilder::<MySql>::new(format!("SELECT COUNT(DISTINCT m.xrfFluorescenceMappingId){MAP_FROM}"));
    push_map_where(&mut count, access, f);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!("{MAP_SELECT}{MAP_FROM}"));
    push_map_where(&mut q, access, f);
    q.push(" ORDER BY m.xrfFluorescenceMappingId LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let mut rows: Vec<Map> = q.build_query_as().fetch_all(db.pool()).await?;
    attach_rois(db, &mut rows).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// A visible map with its stored values (raw `data` column).
pub async fn find_with_data(db: &Db, access: &Access, id: u32) -> crate::Result<Option<(Map, Vec<u8>)>> {
    if !has_maps(db) {
        return Ok(None);
    }
    let f = MapFilter { id: Some(id), ..Default::default() };
    let Some(mut map) = list(db, access, &f, Page { skip: 0, limit: 1 }).await?.results.pop() else {
        return Ok(None);
    };
    let data: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT data FROM XRFFluorescenceMapping WHERE xrfFluorescenceMappingId = ?")
            .bind(id)
            .fetch_one(db.pool())
            .await?;
    attach_rois(db, std::slice::from_mut(&mut map)).await?;
    Ok(Some((map, data.unwrap_or_default())))
}

/// Visible regions of interest (through their sample's protein's proposal).
pub async fn rois(
    db: &Db,
    access: &Access,
    bl_sample_id: Option<u32>,
    roi_id: Option<u32>,
    page: Page,
) -> crate::Result<Paged<MapRoi>> {
    if !has_maps(db) {
        return Ok(Paged::new(Vec::new(), 0, page));
    }
    let from = " FROM XRFFluorescenceMappingROI r JOIN BLSample bls ON bls.blSampleId = r.blSampleId
         JOIN Crystal cr ON cr.crystalId = bls.crystalId JOIN Protein pr ON pr.proteinId = cr.proteinId WHERE 1";
    let push_where = |q: &mut QueryBuilder<MySql>| {
        if let Some(id) = bl_sample_id {
            q.push(" AND r.blSampleId = ").push_bind(id);
        }
        if let Some(id) = roi_id {
            q.push(" AND r.xrfFluorescenceMappingROIId = ").push_bind(id);
        }
        access.push_proposal_filter(q, "pr.proposalId");
    };
    let mut count = QueryBuilder::<MySql>::new(format!("SELECT COUNT(*){from}"));
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT r.xrfFluorescenceMappingROIId, r.element, r.edge, r.scalar, r.startEnergy, r.endEnergy, r.blSampleId{from}"
    ));
    push_where(&mut q);
    q.push(" ORDER BY r.xrfFluorescenceMappingROIId LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let rows = q.build_query_as().fetch_all(db.pool()).await?;
    Ok(Paged::new(rows, total as u64, page))
}
