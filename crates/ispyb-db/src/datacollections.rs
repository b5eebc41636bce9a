//! What hangs off a data collection: file attachments, per-image quality indicators, workflow
//! steps and the diffraction image thumbnails. Every row is reached through its data
//! collection's session, so the caller's [`Access`] applies to it.

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::events::has_table;
use crate::meta::Table;
use crate::sql::push_ids;
use crate::{Access, Db, Page, Paged, models};

/// Joins from a data collection `dc` to its session `s` and proposal `p`.
pub const DC_TO_PROPOSAL: &str = " JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
     JOIN BLSession s ON s.sessionId = dcg.sessionId
     JOIN Proposal p ON p.proposalId = s.proposalId";

/// A data collection file attachment with its download link.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = DataCollectionAttachment)]
pub struct DataCollectionFileAttachment {
    /// The `DataCollectionFileAttachment` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::DataCollectionFileAttachment,
    /// `url` (download route) and `fileName` (base name of the file).
    #[sqlx(skip)]
    #[serde(rename = "_metadata")]
    pub metadata: AttachmentMetadata,
}

/// `_metadata` of an attachment.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct AttachmentMetadata {
    /// Download route of the attachment.
    pub url: String,
    /// Base name of the file.
    #[serde(rename = "fileName")]
    pub file_name: String,
}

/// Filters of the attachment list.
#[derive(Debug, Clone, Default)]
pub struct AttachmentFilter {
    /// One attachment.
    pub id: Option<u32>,
    /// Of one data collection.
    pub data_collection_id: Option<u32>,
    /// Of the data collections of one group.
    pub data_collection_group_id: Option<u32>,
}

fn push_attachment_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &AttachmentFilter) {
    if let Some(id) = f.id {
        q.push(" AND a.dataCollectionFileAttachmentId = ").push_bind(id);
    }
    if let Some(id) = f.data_collection_id {
        q.push(" AND dc.dataCollectionId = ").push_bind(id);
    }
    if let Some(id) = f.data_collection_group_id {
        q.push(" AND dc.dataCollectionGroupId = ").push_bind(id);
    }
    access.push_filter(q, "p.proposalId", "s");
}

/// Visible data collection attachments.
pub async fn attachments(
    db: &Db,
    access: &Access,
    f: &AttachmentFilter,
    page: Page,
) -> crate::Result<Paged<DataCollectionFileAttachment>> {
    let from = format!(
        " FROM DataCollectionFileAttachment a JOIN DataCollection dc ON dc.dataCollectionId = a.dataCollectionId{DC_TO_PROPOSAL} WHERE 1"
    );
    let mut count = QueryBuilder::<MySql>::new(format!("SELECT COUNT(*){from}"));
    push_attachment_where(&mut count, access, f);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}{from}",
        <models::DataCollectionFileAttachment as Table>::meta().select("a", db.flavour())
    ));
    push_attachment_where(&mut q, access, f);
    q.push(" ORDER BY a.dataCollectionFileAttachmentId LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let mut rows: Vec<DataCollectionFileAttachment> = q.build_query_as().fetch_all(db.pool()).await?;
    for r in &mut rows {
        r.metadata.file_name = base_name(&r.base.file_full_path).to_string();
    }
    Ok(Paged::new(rows, total as u64, page))
}

/// The last component of a path.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Per-image quality indicators of a data collection, as lists (py-ISPyB's `PerImageAnalysis`).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct PerImageAnalysis {
    /// The data collection asked for.
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: Option<u32>,
    /// Image numbers.
    #[serde(rename = "imageNumber")]
    pub image_number: Option<Vec<u32>>,
    /// Total integrated signal per image.
    #[serde(rename = "totalIntegratedSignal")]
    pub total_integrated_signal: Option<Vec<f64>>,
    /// Bragg candidates per image.
    #[serde(rename = "goodBraggCandidates")]
    pub good_bragg_candidates: Option<Vec<i64>>,
    /// Resolution estimate per image.
    #[serde(rename = "method2Res")]
    pub method2_res: Option<Vec<f64>>,
}

/// Per-image quality indicators of the visible data collections chosen by the filter, one
/// statement; `total` is the number of indicator rows.
pub async fn quality(
    db: &Db,
    access: &Access,
    data_collection_id: Option<u32>,
    data_collection_group_id: Option<u32>,
    page: Page,
) -> crate::Result<Paged<PerImageAnalysis>> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT iqi.imageNumber, CAST(iqi.totalIntegratedSignal AS DOUBLE), CAST(iqi.goodBraggCandidates AS SIGNED),
           CAST(iqi.method2Res AS DOUBLE), COUNT(*) OVER () AS total
         FROM ImageQualityIndicators iqi JOIN DataCollection dc ON dc.dataCollectionId = iqi.dataCollectionId",
    );
    q.push(DC_TO_PROPOSAL).push(" WHERE 1");
    if let Some(id) = data_collection_id {
        q.push(" AND dc.dataCollectionId = ").push_bind(id);
    }
    if let Some(id) = data_collection_group_id {
        q.push(" AND dc.dataCollectionGroupId = ").push_bind(id);
    }
    access.push_filter(&mut q, "p.proposalId", "s");
    q.push(" ORDER BY iqi.dataCollectionId, iqi.imageNumber LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    type Row = (Option<u32>, Option<f64>, Option<i64>, Option<f64>, i64);
    let rows: Vec<Row> = q.build_query_as().fetch_all(db.pool()).await?;
    let total = rows.first().map_or(0, |r| r.4) as u64;
    let mut out = PerImageAnalysis { data_collection_id, ..Default::default() };
    if !rows.is_empty() {
        out.image_number = Some(rows.iter().filter_map(|r| r.0).collect());
        out.total_integrated_signal = Some(rows.iter().filter_map(|r| r.1).collect());
        out.good_bragg_candidates = Some(rows.iter().filter_map(|r| r.2).collect());
        out.method2_res = Some(rows.iter().filter_map(|r| r.3).collect());
    }
    Ok(Paged::new(vec![out], total, page))
}

/// A workflow step with which of its files exist.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = WorkflowStepWithFiles)]
pub struct WorkflowStep {
    /// The `WorkflowStep` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::WorkflowStep,
    /// `attachments`: for `imageResultFilePath`, `resultFilePath` and `htmlResultFilePath`,
    /// whether the file can be served.
    #[sqlx(skip)]
    #[serde(rename = "_metadata")]
    pub metadata: WorkflowStepMetadata,
}

/// `_metadata` of a workflow step.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct WorkflowStepMetadata {
    /// File kind → whether the file can be served.
    pub attachments: std::collections::BTreeMap<String, bool>,
}

/// Visible workflow steps (a workflow is visible through any of its data collection groups).
/// The `dls` flavour has no workflows: an empty page.
pub async fn workflow_steps(
    db: &Db,
    access: &Access,
    workflow_id: Option<u32>,
    workflow_step_id: Option<i64>,
    page: Page,
) -> crate::Result<Paged<WorkflowStep>> {
    if !has_table::<models::WorkflowStep>(db) {
        return Ok(Paged::new(Vec::new(), 0, page));
    }
    let push_where = |q: &mut QueryBuilder<MySql>| {
        if let Some(id) = workflow_id {
            q.push(" AND ws.workflowId = ").push_bind(id);
        }
        if let Some(id) = workflow_step_id {
            q.push(" AND ws.workflowStepId = ").push_bind(id);
        }
        q.push(
            " AND EXISTS (SELECT 1 FROM DataCollectionGroup dcg JOIN BLSession s ON s.sessionId = dcg.sessionId
               JOIN Proposal p ON p.proposalId = s.proposalId WHERE dcg.workflowId = ws.workflowId",
        );
        access.push_filter(q, "p.proposalId", "s");
        q.push(")");
    };
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM WorkflowStep ws WHERE 1");
    push_where(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM WorkflowStep ws WHERE 1",
        <models::WorkflowStep as Table>::meta().select("ws", db.flavour())
    ));
    push_where(&mut q);
    q.push(" ORDER BY ws.workflowStepId LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let rows = q.build_query_as().fetch_all(db.pool()).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// The diffraction image row (`Image`, image number 1) of a visible data collection.
pub async fn first_image(db: &Db, access: &Access, data_collection_id: u32) -> crate::Result<Option<models::Image>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM Image i JOIN DataCollection dc ON dc.dataCollectionId = i.dataCollectionId",
        <models::Image as Table>::meta().select("i", db.flavour())
    ));
    q.push(DC_TO_PROPOSAL).push(" WHERE i.imageNumber = 1 AND dc.dataCollectionId = ").push_bind(data_collection_id);
    access.push_filter(&mut q, "p.proposalId", "s");
    q.push(" ORDER BY i.imageId LIMIT 1");
    Ok(q.build_query_as().fetch_optional(db.pool()).await?)
}

/// The ids among `ids` of data collections the caller may see.
pub async fn visible_ids(db: &Db, access: &Access, ids: &[u32]) -> crate::Result<Vec<u32>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<MySql>::new("SELECT dc.dataCollectionId FROM DataCollection dc");
    q.push(DC_TO_PROPOSAL).push(" WHERE dc.dataCollectionId IN (");
    push_ids(&mut q, ids);
    q.push(")");
    access.push_filter(&mut q, "p.proposalId", "s");
    Ok(q.build_query_scalar().fetch_all(db.pool()).await?)
}
