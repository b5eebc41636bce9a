//! The file paths legacy routes serve (snapshots, plots, images, workflow results, attachments,
//! scan files), each read only through its owner's proposal and session: an id from another
//! proposal, or from a session the caller may not see, finds nothing. Also the three comment
//! writes, checked the same way.

use sqlx::{MySql, QueryBuilder};

use super::{DateStyle, JsonRow, LegacyAccess, fetch_json, has_column};
use crate::meta::{Flavour, Table};
use crate::sql::push_ids;
use crate::{Db, models};

/// A file column of a data collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcFile {
    /// `xtalSnapshotFullPath1` to `4`.
    Snapshot(u8),
    /// `imageQualityIndicatorsPlotPath`.
    QualityIndicatorPlot,
    /// `bestWilsonPlotPath`.
    WilsonPlot,
}

impl DcFile {
    fn column(self) -> &'static str {
        match self {
            DcFile::Snapshot(1) => "xtalSnapshotFullPath1",
            DcFile::Snapshot(2) => "xtalSnapshotFullPath2",
            DcFile::Snapshot(3) => "xtalSnapshotFullPath3",
            DcFile::Snapshot(_) => "xtalSnapshotFullPath4",
            DcFile::QualityIndicatorPlot => "imageQualityIndicatorsPlotPath",
            DcFile::WilsonPlot => "bestWilsonPlotPath",
        }
    }
}

/// One path column read under the proposal: `None` when the row is not there (or not visible),
/// `Some(None)` when it has no path.
async fn one_path(q: &mut QueryBuilder<MySql>, db: &Db) -> crate::Result<Option<Option<String>>> {
    Ok(q.build_query_scalar::<Option<String>>().fetch_optional(db.pool()).await?)
}

/// Starts `SELECT <expr> FROM … JOIN BLSession s` from a data collection `dc`.
fn from_dc(expr: &str) -> QueryBuilder<MySql> {
    QueryBuilder::new(format!(
        "SELECT {expr} FROM DataCollection dc JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId \
         JOIN BLSession s ON s.sessionId = g.sessionId WHERE 1"
    ))
}

fn restrict(q: &mut QueryBuilder<MySql>, access: &LegacyAccess, proposal_id: u32) {
    q.push(" AND s.proposalId = ").push_bind(proposal_id);
    access.push_session_filter(q, "s.proposalId", "s");
}

/// A file path of a data collection of the proposal.
pub async fn dc_file(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    dc_id: u32,
    file: DcFile,
) -> crate::Result<Option<Option<String>>> {
    let column = file.column();
    let expr = if has_column(<models::DataCollection as Table>::meta(), column, db.flavour()) {
        format!("dc.`{column}`")
    } else {
        "NULL".into()
    };
    let mut q = from_dc(&expr);
    q.push(" AND dc.dataCollectionId = ").push_bind(dc_id);
    restrict(&mut q, access, proposal_id);
    one_path(&mut q, db).await
}

/// The crystal snapshot of a data collection group of the proposal.
pub async fn group_snapshot(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    group_id: u32,
) -> crate::Result<Option<Option<String>>> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT g.xtalSnapshotFullPath FROM DataCollectionGroup g JOIN BLSession s ON s.sessionId = g.sessionId \
         WHERE g.dataCollectionGroupId = ",
    );
    q.push_bind(group_id);
    restrict(&mut q, access, proposal_id);
    one_path(&mut q, db).await
}

/// An image (`Image.jpegFileFullPath`, or the thumbnail) of a collection of the proposal.
pub async fn image(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    image_id: u32,
    thumbnail: bool,
) -> crate::Result<Option<Option<String>>> {
    let column = if thumbnail { "i.jpegThumbnailFileFullPath" } else { "i.jpegFileFullPath" };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {column} FROM Image i JOIN DataCollection dc ON dc.dataCollectionId = i.dataCollectionId \
         JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId \
         JOIN BLSession s ON s.sessionId = g.sessionId WHERE i.imageId = "
    ));
    q.push_bind(image_id);
    restrict(&mut q, access, proposal_id);
    one_path(&mut q, db).await
}

/// What a workflow step offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepFile {
    /// `imageResultFilePath`.
    Image,
    /// `htmlResultFilePath`.
    Html,
    /// `resultFilePath` (JSON).
    Result,
}

fn workflow_tables(db: &Db) -> bool {
    db.flavour() == Flavour::Ispyb
}

/// A result file of a workflow step whose workflow ran in a session of the proposal.
pub async fn workflow_step(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    step_id: u32,
    file: StepFile,
) -> crate::Result<Option<Option<String>>> {
    if !workflow_tables(db) {
        return Ok(None);
    }
    let column = match file {
        StepFile::Image => "ws.imageResultFilePath",
        StepFile::Html => "ws.htmlResultFilePath",
        StepFile::Result => "ws.resultFilePath",
    };
    let mut q = QueryBuilder::<MySql>::new(format!("SELECT {column} FROM WorkflowStep ws WHERE ws.workflowStepId = "));
    q.push_bind(step_id);
    q.push(" AND ws.workflowId IN (SELECT g.workflowId FROM DataCollectionGroup g JOIN BLSession s ON s.sessionId = g.sessionId WHERE 1");
    restrict(&mut q, access, proposal_id);
    q.push(") LIMIT 1");
    one_path(&mut q, db).await
}

/// The log of a workflow that ran in a session the caller may see (Java's route has no
/// proposal in its path).
pub async fn workflow_log(db: &Db, access: &LegacyAccess, workflow_id: u32) -> crate::Result<Option<Option<String>>> {
    if !workflow_tables(db) {
        return Ok(None);
    }
    let mut q = QueryBuilder::<MySql>::new("SELECT w.logFilePath FROM Workflow w WHERE w.workflowId = ");
    q.push_bind(workflow_id);
    q.push(" AND w.workflowId IN (SELECT g.workflowId FROM DataCollectionGroup g JOIN BLSession s ON s.sessionId = g.sessionId WHERE 1");
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(") LIMIT 1");
    one_path(&mut q, db).await
}

/// Steps of workflows of the proposal, as Java's `WorkflowStep3VO` list.
pub async fn workflow_steps(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    step_ids: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    if !workflow_tables(db) || step_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT ws.workflowStepId, ws.workflowId, ws.workflowStepType, ws.status, ws.folderPath, ws.imageResultFilePath, \
         ws.htmlResultFilePath, ws.resultFilePath, ws.comments, ws.crystalSizeX, ws.crystalSizeY, ws.crystalSizeZ, \
         ws.maxDozorScore, ws.recordTimeStamp FROM WorkflowStep ws WHERE ws.workflowStepId IN (",
    );
    push_ids(&mut q, step_ids);
    q.push(") AND ws.workflowId IN (SELECT g.workflowId FROM DataCollectionGroup g JOIN BLSession s ON s.sessionId = g.sessionId WHERE 1");
    restrict(&mut q, access, proposal_id);
    q.push(") ORDER BY ws.workflowStepId");
    fetch_json(db, q, dates).await
}

/// `WHERE` part: the program `app` belongs to a collection of the proposal (through its
/// integration, or directly where the flavour has `AutoProcProgram.dataCollectionId`).
fn push_program_owner(q: &mut QueryBuilder<MySql>, db: &Db, access: &LegacyAccess, proposal_id: u32) {
    let direct = has_column(<models::AutoProcProgram as Table>::meta(), "dataCollectionId", db.flavour());
    q.push(" AND EXISTS (SELECT 1 FROM DataCollection dc JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId JOIN BLSession s ON s.sessionId = g.sessionId WHERE (dc.dataCollectionId IN (SELECT api.dataCollectionId FROM AutoProcIntegration api WHERE api.autoProcProgramId = app.autoProcProgramId)");
    if direct {
        q.push(" OR dc.dataCollectionId = app.dataCollectionId");
    }
    q.push(")");
    restrict(q, access, proposal_id);
    q.push(")");
}

/// Attachments of auto-processing programs of the proposal, one list per program id (Java's
/// `AutoProcProgramAttachment3VO` fields).
pub async fn attachments(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    program_ids: &[u32],
    dates: DateStyle,
) -> crate::Result<Vec<Vec<JsonRow>>> {
    if program_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT a.autoProcProgramAttachmentId, a.autoProcProgramId, a.fileType, a.fileName, a.filePath, a.recordTimeStamp \
         FROM AutoProcProgramAttachment a JOIN AutoProcProgram app ON app.autoProcProgramId = a.autoProcProgramId \
         WHERE a.autoProcProgramId IN (",
    );
    push_ids(&mut q, program_ids);
    q.push(")");
    push_program_owner(&mut q, db, access, proposal_id);
    q.push(" ORDER BY a.autoProcProgramAttachmentId");
    let rows = fetch_json(db, q, dates).await?;
    Ok(program_ids
        .iter()
        .map(|id| rows.iter().filter(|r| r["autoProcProgramId"].as_u64() == Some(u64::from(*id))).cloned().collect())
        .collect())
}

/// One attachment of a program of the proposal: `(filePath, fileName)`.
pub async fn attachment(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    attachment_id: u32,
) -> crate::Result<Option<(Option<String>, Option<String>)>> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT a.filePath, a.fileName FROM AutoProcProgramAttachment a \
         JOIN AutoProcProgram app ON app.autoProcProgramId = a.autoProcProgramId WHERE a.autoProcProgramAttachmentId = ",
    );
    q.push_bind(attachment_id);
    push_program_owner(&mut q, db, access, proposal_id);
    Ok(q.build_query_as::<(Option<String>, Option<String>)>().fetch_optional(db.pool()).await?)
}

/// What an energy scan offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFile {
    /// `scanFileFullPath`.
    Scan,
    /// `choochFileFullPath`.
    Chooch,
    /// `jpegChoochFileFullPath`.
    JpegChooch,
}

/// A file of an energy scan of a session of the proposal.
pub async fn energy_scan(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    scan_id: u32,
    file: ScanFile,
) -> crate::Result<Option<Option<String>>> {
    let column = match file {
        ScanFile::Scan => "e.scanFileFullPath",
        ScanFile::Chooch => "e.choochFileFullPath",
        ScanFile::JpegChooch => "e.jpegChoochFileFullPath",
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {column} FROM EnergyScan e JOIN BLSession s ON s.sessionId = e.sessionId WHERE e.energyScanId = "
    ));
    q.push_bind(scan_id);
    restrict(&mut q, access, proposal_id);
    one_path(&mut q, db).await
}

/// The path columns of an XRF spectrum Java's `{column}` routes may name; any other name is
/// refused (Java served whatever column of the row was named).
pub const XRF_FILE_COLUMNS: &[&str] =
    &["jpegScanFileFullPath", "scanFileFullPath", "fittedDataFileFullPath", "annotatedPymcaXfeSpectrum"];

/// A file of an XRF spectrum of a session of the proposal; `column` is one of
/// [`XRF_FILE_COLUMNS`].
pub async fn xrf_file(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    spectrum_id: u32,
    column: &str,
) -> crate::Result<Option<Option<String>>> {
    let Some(column) = XRF_FILE_COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(column)) else {
        return Ok(None);
    };
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT x.`{column}` FROM XFEFluorescenceSpectrum x JOIN BLSession s ON s.sessionId = x.sessionId \
         WHERE x.xfeFluorescenceSpectrumId = "
    ));
    q.push_bind(spectrum_id);
    restrict(&mut q, access, proposal_id);
    one_path(&mut q, db).await
}

/// What a comment is saved on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOn {
    /// `DataCollection.comments`.
    DataCollection,
    /// `DataCollectionGroup.comments`.
    DataCollectionGroup,
    /// `BLSession.comments`.
    Session,
}

impl CommentOn {
    /// Longest comment the column holds.
    pub fn max_len(self) -> usize {
        let (table, column) = match self {
            CommentOn::DataCollection => (<models::DataCollection as Table>::meta(), "comments"),
            CommentOn::DataCollectionGroup => (<models::DataCollectionGroup as Table>::meta(), "comments"),
            CommentOn::Session => (<models::BlSession as Table>::meta(), "comments"),
        };
        table
            .column(column)
            .and_then(|c| c.column_type.strip_prefix("varchar(")?.strip_suffix(')')?.parse().ok())
            .unwrap_or(1024)
    }
}

/// Saves a comment on an object of a session of the proposal the caller may see; `false` when
/// there is no such object.
pub async fn save_comments(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    on: CommentOn,
    id: u32,
    comments: &str,
) -> crate::Result<bool> {
    let (mut q, update) = match on {
        CommentOn::DataCollection => {
            let mut q = from_dc("COUNT(*)");
            q.push(" AND dc.dataCollectionId = ").push_bind(id);
            (q, "UPDATE DataCollection SET comments = ? WHERE dataCollectionId = ?")
        }
        CommentOn::DataCollectionGroup => {
            let mut q = QueryBuilder::<MySql>::new(
                "SELECT COUNT(*) FROM DataCollectionGroup g JOIN BLSession s ON s.sessionId = g.sessionId \
                 WHERE g.dataCollectionGroupId = ",
            );
            q.push_bind(id);
            (q, "UPDATE DataCollectionGroup SET comments = ? WHERE dataCollectionGroupId = ?")
        }
        CommentOn::Session => {
            let mut q = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM BLSession s WHERE s.sessionId = ");
            q.push_bind(id);
            (q, "UPDATE BLSession SET comments = ? WHERE sessionId = ?")
        }
    };
    restrict(&mut q, access, proposal_id);
    let n: i64 = q.build_query_scalar().fetch_one(db.pool()).await?;
    if n == 0 {
        return Ok(false);
    }
    sqlx::query(update).bind(comments).bind(id).execute(db.pool()).await?;
    Ok(true)
}
