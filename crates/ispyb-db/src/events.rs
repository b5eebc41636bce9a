//! The session timeline (`GET /events`): data collection groups (or the data collections of one
//! group), robot actions, XRF spectra and energy scans, newest first, each with its full entity
//! under `Item`; and the event types of a session (`GET /events/types`).
//!
//! A page costs a fixed number of statements whatever its size: one count and one page query
//! over the union of the four kinds, then one statement per kind of entity on the page (data
//! collections, their groups, workflows and grid scans, robot actions, spectra, scans).

use std::collections::{BTreeMap, HashMap};

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::{Flavour, Table};
use crate::sql::push_ids;
use crate::types::{DateTime, Int};
use crate::{Access, Db, Page, Paged, models};

/// `status` filter of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// Data collections whose `runStatus` contains "success", successful robot actions.
    Success,
    /// The others.
    Failed,
    /// Data collections with a successful auto-integration.
    Processed,
    /// Data collections whose processing logged a warning or an error.
    Processerror,
}

/// Filters of the timeline; every given filter applies (an unknown name matches nothing).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Session name (`MX1-3`).
    pub session: Option<String>,
    /// Session id.
    pub session_id: Option<u32>,
    /// Proposal name (`MX1`).
    pub proposal: Option<String>,
    /// Proposal id.
    pub proposal_id: Option<u32>,
    /// Beamline.
    pub beam_line_name: Option<String>,
    /// One data collection (data collection events only).
    pub data_collection_id: Option<u32>,
    /// The data collections of one group, one event each (data collection events only).
    pub data_collection_group_id: Option<u32>,
    /// Events of one sample.
    pub bl_sample_id: Option<u32>,
    /// Data collections of one sub-sample (data collection events only).
    pub bl_sub_sample_id: Option<u32>,
    /// Events of samples of one protein.
    pub protein_id: Option<u32>,
    /// Outcome.
    pub status: Option<EventStatus>,
    /// `robot`, `xrf`, `es`, or a data collection group's `experimentType`.
    pub event_type: Option<String>,
}

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Id of the entity: the data collection (the group's latest one for a group), robot
    /// action, spectrum or scan.
    pub id: i64,
    /// `dc`, `robot`, `xrf` or `es`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Start.
    #[serde(rename = "startTime")]
    #[schema(value_type = Option<String>)]
    pub start_time: DateTime,
    /// End.
    #[serde(rename = "endTime")]
    #[schema(value_type = Option<String>)]
    pub end_time: DateTime,
    /// Duration in minutes.
    pub duration: Option<f64>,
    /// Data collections in the event (1 for the other kinds).
    pub count: i64,
    /// Session name.
    pub session: Option<String>,
    /// Session id.
    #[serde(rename = "sessionId")]
    pub session_id: i64,
    /// Proposal name.
    pub proposal: Option<String>,
    /// Sample name.
    #[serde(rename = "blSample")]
    pub bl_sample: Option<String>,
    /// Sample id.
    #[serde(rename = "blSampleId")]
    pub bl_sample_id: Option<i64>,
    /// Attachments of the data collections.
    pub attachments: i64,
    /// The entity.
    #[serde(rename = "Item")]
    pub item: Option<EventItem>,
}

/// The entity behind an event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EventItem {
    /// A data collection with its group, workflow and grid scans.
    Dc(Box<DataCollectionItem>),
    /// A robot action.
    Robot(models::RobotAction),
    /// An XRF spectrum.
    Xrf(models::XfeFluorescenceSpectrum),
    /// An energy scan.
    Es(models::EnergyScan),
}

/// A data collection as the timeline serves it.
#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct DataCollectionItem {
    /// The `DataCollection` row.
    #[serde(flatten)]
    pub base: models::DataCollection,
    /// Its group.
    #[serde(rename = "DataCollectionGroup")]
    pub group: Option<GroupItem>,
    /// Grid scans of the group (mesh scans).
    #[serde(rename = "GridInfo")]
    pub grid_info: Vec<GridInfo>,
    /// Which snapshots exist on disk.
    #[serde(rename = "_metadata")]
    pub metadata: DataCollectionMetadata,
}

impl serde::Serialize for DataCollectionItem {
    /// The row's columns (`binning`, a `TINYINT(1)`, as the number py-ISPyB serves), then the
    /// group, the grids and `_metadata`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        // Through the text form, so `FLOAT` columns keep their short form (0.1, not 0.100000001).
        let text = serde_json::to_string(&self.base).map_err(S::Error::custom)?;
        let base: serde_json::Value = serde_json::from_str(&text).map_err(S::Error::custom)?;
        let serde_json::Value::Object(fields) = base else { return Err(S::Error::custom("not an object")) };
        let mut map = s.serialize_map(Some(fields.len() + 3))?;
        for (k, v) in &fields {
            if k == "binning" {
                map.serialize_entry(k, &self.base.binning.map(i64::from))?;
            } else {
                map.serialize_entry(k, v)?;
            }
        }
        map.serialize_entry("DataCollectionGroup", &self.group)?;
        map.serialize_entry("GridInfo", &self.grid_info)?;
        map.serialize_entry("_metadata", &self.metadata)?;
        map.end()
    }
}

/// `_metadata` of a data collection.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct DataCollectionMetadata {
    /// `"1"` to `"4"`: whether `xtalSnapshotFullPath1..4` can be served; `"analysis"`: whether
    /// `imageQualityIndicatorsPlotPath` can be served.
    pub snapshots: BTreeMap<String, bool>,
}

/// A data collection group with its workflow.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct GroupItem {
    /// The `DataCollectionGroup` row.
    #[serde(flatten)]
    pub base: models::DataCollectionGroup,
    /// The workflow that made the group.
    #[serde(rename = "Workflow")]
    pub workflow: Option<models::Workflow>,
}

/// A grid scan (`GridInfo`) with py-ISPyB's field names in both flavours.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = GridScan)]
pub struct GridInfo {
    /// Primary key.
    #[sqlx(rename = "gridInfoId")]
    #[serde(rename = "gridInfoId")]
    pub grid_info_id: u32,
    /// Offset.
    #[sqlx(rename = "xOffset")]
    #[serde(rename = "xOffset")]
    pub x_offset: Option<f64>,
    /// Offset.
    #[sqlx(rename = "yOffset")]
    #[serde(rename = "yOffset")]
    pub y_offset: Option<f64>,
    /// Step, mm.
    pub dx_mm: Option<f64>,
    /// Step, mm.
    pub dy_mm: Option<f64>,
    /// Steps along x.
    pub steps_x: Option<f64>,
    /// Steps along y.
    pub steps_y: Option<f64>,
    /// Angle.
    #[sqlx(rename = "meshAngle")]
    #[serde(rename = "meshAngle")]
    pub mesh_angle: Option<f64>,
    /// `vertical` or `horizontal`.
    pub orientation: Option<String>,
    /// Snapshot scale (the `dls` flavour stores microns per pixel; this is its inverse).
    #[sqlx(rename = "pixelsPerMicronX")]
    #[serde(rename = "pixelsPerMicronX")]
    pub pixels_per_micron_x: Option<f64>,
    /// Snapshot scale.
    #[sqlx(rename = "pixelsPerMicronY")]
    #[serde(rename = "pixelsPerMicronY")]
    pub pixels_per_micron_y: Option<f64>,
    /// Grid origin on the snapshot.
    #[sqlx(rename = "snapshot_offsetXPixel")]
    #[serde(rename = "snapshot_offsetXPixel")]
    pub snapshot_offset_x_pixel: Option<f64>,
    /// Grid origin on the snapshot.
    #[sqlx(rename = "snapshot_offsetYPixel")]
    #[serde(rename = "snapshot_offsetYPixel")]
    pub snapshot_offset_y_pixel: Option<f64>,
    /// Whether every second row runs backwards (`dls` flavour only).
    pub snaked: Option<bool>,
    /// The group of the grid.
    #[sqlx(rename = "dataCollectionGroupId")]
    #[serde(rename = "dataCollectionGroupId")]
    pub data_collection_group_id: Option<i64>,
    /// The data collection of the grid (`dls` flavour only).
    #[sqlx(rename = "dataCollectionId")]
    #[serde(skip)]
    pub data_collection_id: Option<i64>,
}

/// Select list of [`GridInfo`] for a flavour (the columns are spelled differently).
pub fn grid_info_select(alias: &str, flavour: Flavour) -> String {
    let common = format!(
        "{alias}.gridInfoId, CAST({alias}.xOffset AS DOUBLE) AS xOffset, CAST({alias}.yOffset AS DOUBLE) AS yOffset,
         CAST({alias}.dx_mm AS DOUBLE) AS dx_mm, CAST({alias}.dy_mm AS DOUBLE) AS dy_mm,
         CAST({alias}.steps_x AS DOUBLE) AS steps_x, CAST({alias}.steps_y AS DOUBLE) AS steps_y,
         CAST({alias}.meshAngle AS DOUBLE) AS meshAngle, {alias}.orientation,
         CAST({alias}.snapshot_offsetXPixel AS DOUBLE) AS snapshot_offsetXPixel,
         CAST({alias}.snapshot_offsetYPixel AS DOUBLE) AS snapshot_offsetYPixel,
         CAST({alias}.dataCollectionGroupId AS SIGNED) AS dataCollectionGroupId"
    );
    match flavour {
        Flavour::Ispyb => format!(
            "{common}, CAST({alias}.pixelspermicronX AS DOUBLE) AS pixelsPerMicronX,
             CAST({alias}.pixelspermicronY AS DOUBLE) AS pixelsPerMicronY,
             CAST(NULL AS SIGNED) AS snaked, CAST(NULL AS SIGNED) AS dataCollectionId"
        ),
        Flavour::Dls => format!(
            "{common}, CAST(1 / NULLIF({alias}.micronsPerPixelX, 0) AS DOUBLE) AS pixelsPerMicronX,
             CAST(1 / NULLIF({alias}.micronsPerPixelY, 0) AS DOUBLE) AS pixelsPerMicronY,
             {alias}.snaked, CAST({alias}.dataCollectionId AS SIGNED) AS dataCollectionId"
        ),
    }
}

/// Whether the database has this modelled table.
pub fn has_table<T: Table>(db: &Db) -> bool {
    T::meta().in_flavour(db.flavour())
}

#[derive(FromRow)]
struct RawEvent {
    id: Int,
    #[sqlx(rename = "type")]
    kind: String,
    #[sqlx(rename = "startTime")]
    start_time: DateTime,
    #[sqlx(rename = "endTime")]
    end_time: DateTime,
    duration: Option<f64>,
    count: Int,
    attachments: Int,
    session: Option<String>,
    #[sqlx(rename = "sessionId")]
    session_id: Int,
    proposal: Option<String>,
    #[sqlx(rename = "blSample")]
    bl_sample: Option<String>,
    #[sqlx(rename = "blSampleId")]
    bl_sample_id: Option<Int>,
}

/// Which of the four kinds a filter leaves, and how each is restricted.
struct Kinds {
    dc: bool,
    robot: bool,
    xrf: bool,
    es: bool,
}

impl Kinds {
    fn of(db: &Db, f: &EventFilter) -> Self {
        let mut k = Kinds { dc: true, robot: true, xrf: true, es: true };
        if f.data_collection_id.is_some() || f.data_collection_group_id.is_some() || f.bl_sub_sample_id.is_some() {
            k = Kinds { dc: true, robot: false, xrf: false, es: false };
        }
        match f.status {
            None => {}
            Some(EventStatus::Success | EventStatus::Failed) => {
                k.xrf = false;
                k.es = false;
            }
            Some(EventStatus::Processed) => k = Kinds { dc: k.dc, robot: false, xrf: false, es: false },
            Some(EventStatus::Processerror) => {
                // Without message tables no processing can have logged an error.
                let dc = k.dc && has_table::<models::AutoProcProgramMessage>(db);
                k = Kinds { dc, robot: false, xrf: false, es: false };
            }
        }
        match f.event_type.as_deref() {
            None => {}
            Some("robot") => k = Kinds { dc: false, robot: k.robot, xrf: false, es: false },
            Some("xrf") => k = Kinds { dc: false, robot: false, xrf: k.xrf, es: false },
            Some("es") => k = Kinds { dc: false, robot: false, xrf: false, es: k.es },
            Some(_) => k = Kinds { dc: k.dc, robot: false, xrf: false, es: false },
        }
        k
    }

    fn any(&self) -> bool {
        self.dc || self.robot || self.xrf || self.es
    }
}

/// Filters every kind shares: session, proposal, beamline, sample, protein, access.
fn push_common(q: &mut QueryBuilder<MySql>, access: &Access, f: &EventFilter, sample_col: &str) {
    if let Some(name) = &f.session {
        q.push(" AND CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number) = ").push_bind(name.clone());
    }
    if let Some(id) = f.session_id {
        q.push(" AND s.sessionId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        q.push(" AND CONCAT(p.proposalCode, p.proposalNumber) = ").push_bind(name.clone());
    }
    if let Some(id) = f.proposal_id {
        q.push(" AND s.proposalId = ").push_bind(id);
    }
    if let Some(bl) = &f.beam_line_name {
        q.push(" AND s.beamLineName = ").push_bind(bl.clone());
    }
    if let Some(id) = f.bl_sample_id {
        q.push(format_args!(" AND {sample_col} = ")).push_bind(id);
    }
    if let Some(id) = f.protein_id {
        q.push(" AND bls.crystalId IN (SELECT cr.crystalId FROM Crystal cr WHERE cr.proteinId = ")
            .push_bind(id)
            .push(")");
    }
    access.push_filter(q, "p.proposalId", "s");
}

const NAMES: &str =
    "CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number) AS session, s.sessionId AS sessionId,
     CONCAT(p.proposalCode, p.proposalNumber) AS proposal, bls.name AS blSample, bls.blSampleId AS blSampleId";

/// The union of the kinds the filter leaves, one row per event.
fn push_union(q: &mut QueryBuilder<MySql>, db: &Db, access: &Access, f: &EventFilter, kinds: &Kinds) {
    let mut first = true;
    let mut sep = |q: &mut QueryBuilder<MySql>| {
        if !first {
            q.push(" UNION ALL ");
        }
        first = false;
    };
    let minutes = |start: &str, end: &str| format!("TIMESTAMPDIFF(SECOND, {start}, {end}) / 60");
    if kinds.dc {
        sep(q);
        // Grouped (the default): one row per group, the duration corrected for the fan-out of
        // the attachment join, as py-ISPyB computes it. Ungrouped: one row per data collection.
        let grouped = f.data_collection_group_id.is_none();
        let (id, start, end, duration, count) = if grouped {
            (
                "MAX(dc.dataCollectionId)".to_string(),
                "MIN(dc.startTime)",
                "MAX(dc.endTime)",
                format!(
                    "SUM({}) / (COUNT(dc.dataCollectionId) / COUNT(DISTINCT dc.dataCollectionId))",
                    minutes("dc.startTime", "dc.endTime")
                ),
                "COUNT(DISTINCT dc.dataCollectionId)",
            )
        } else {
            (
                "dc.dataCollectionId".to_string(),
                "MIN(dc.startTime)",
                "MAX(dc.endTime)",
                format!("MIN({})", minutes("dc.startTime", "dc.endTime")),
                "1",
            )
        };
        q.push(format_args!(
            "SELECT {id} AS id, 'dc' AS type, {start} AS startTime, {end} AS endTime, {duration} AS duration,
               {count} AS count, COUNT(DISTINCT dcfa.dataCollectionFileAttachmentId) AS attachments,
               CONCAT(MIN(p.proposalCode), MIN(p.proposalNumber), '-', MIN(s.visit_number)) AS session, MIN(s.sessionId) AS sessionId,
               CONCAT(MIN(p.proposalCode), MIN(p.proposalNumber)) AS proposal, MIN(bls.name) AS blSample,
               MIN(bls.blSampleId) AS blSampleId
             FROM DataCollection dc
             JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
             JOIN BLSession s ON s.sessionId = dcg.sessionId
             JOIN Proposal p ON p.proposalId = s.proposalId
             LEFT JOIN BLSample bls ON bls.blSampleId = dcg.blSampleId
             LEFT JOIN DataCollectionFileAttachment dcfa ON dcfa.dataCollectionId = dc.dataCollectionId
             WHERE 1"
        ));
        push_common(q, access, f, "dcg.blSampleId");
        if let Some(id) = f.data_collection_id {
            q.push(" AND dc.dataCollectionId = ").push_bind(id);
        }
        if let Some(id) = f.data_collection_group_id {
            q.push(" AND dcg.dataCollectionGroupId = ").push_bind(id);
        }
        if let Some(id) = f.bl_sub_sample_id {
            q.push(" AND dc.blSubSampleId = ").push_bind(id);
        }
        match f.status {
            Some(EventStatus::Success) => {
                q.push(" AND dc.runStatus LIKE '%success%'");
            }
            Some(EventStatus::Failed) => {
                q.push(" AND dc.runStatus NOT LIKE '%success%'");
            }
            Some(EventStatus::Processed) => {
                q.push(
                    " AND EXISTS (SELECT 1 FROM AutoProcIntegration api
                       JOIN AutoProcProgram app ON app.autoProcProgramId = api.autoProcProgramId
                       WHERE api.dataCollectionId = dc.dataCollectionId AND ",
                );
                q.push(succeeded(db.flavour(), "app.processingStatus")).push(")");
            }
            Some(EventStatus::Processerror) => {
                q.push(
                    " AND EXISTS (SELECT 1 FROM AutoProcIntegration api
                       JOIN AutoProcProgramMessage m ON m.autoProcProgramId = api.autoProcProgramId
                       WHERE api.dataCollectionId = dc.dataCollectionId AND m.severity IN ('WARNING', 'ERROR'))",
                );
            }
            None => {}
        }
        if let Some(t) = &f.event_type
            && !matches!(t.as_str(), "robot" | "xrf" | "es")
        {
            q.push(" AND dcg.experimentType = ").push_bind(t.clone());
        }
        if grouped {
            q.push(" GROUP BY dcg.dataCollectionGroupId");
        } else {
            q.push(" GROUP BY dc.dataCollectionId");
        }
    }
    let simple = [
        (
            kinds.robot,
            "robot",
            "RobotAction",
            "x.robotActionId",
            "x.startTimestamp",
            "x.endTimestamp",
            "x.blsessionId",
            "x.blsampleId",
        ),
        (
            kinds.xrf,
            "xrf",
            "XFEFluorescenceSpectrum",
            "x.xfeFluorescenceSpectrumId",
            "x.startTime",
            "x.endTime",
            "x.sessionId",
            "x.blSampleId",
        ),
        (kinds.es, "es", "EnergyScan", "x.energyScanId", "x.startTime", "x.endTime", "x.sessionId", "x.blSampleId"),
    ];
    for (wanted, kind, table, id, start, end, session, sample) in simple {
        if !wanted {
            continue;
        }
        sep(q);
        q.push(format_args!(
            "SELECT {id} AS id, '{kind}' AS type, {start} AS startTime, {end} AS endTime, {} AS duration,
               1 AS count, 0 AS attachments, {NAMES}
             FROM {table} x
             JOIN BLSession s ON s.sessionId = {session}
             JOIN Proposal p ON p.proposalId = s.proposalId
             LEFT JOIN BLSample bls ON bls.blSampleId = {sample}
             WHERE 1",
            minutes(start, end)
        ));
        push_common(q, access, f, sample);
        if kind == "robot" {
            match f.status {
                Some(EventStatus::Success) => {
                    q.push(" AND x.status LIKE '%success%'");
                }
                Some(EventStatus::Failed) => {
                    q.push(" AND x.status NOT LIKE '%success%'");
                }
                _ => {}
            }
        }
    }
}

/// SQL condition: a processing status column says "success" (an enum in the `ispyb` flavour,
/// a boolean in `dls`).
pub fn succeeded(flavour: Flavour, col: &str) -> String {
    match flavour {
        Flavour::Ispyb => format!("{col} IN ('SUCCESS', '1')"),
        Flavour::Dls => format!("{col} = 1"),
    }
}

/// Turns the session and proposal names of a filter into ids (one statement each), so every
/// part of the timeline is reached through indexes (proposal → sessions → rows); `None` when a
/// name matches nothing, or another session or proposal than the id also given.
async fn resolve_names(db: &Db, f: &EventFilter) -> crate::Result<Option<EventFilter>> {
    let mut f = f.clone();
    if let Some(name) = f.session.take() {
        let id: Option<u32> = sqlx::query_scalar(
            "SELECT s.sessionId FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId
             WHERE CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number) = ? LIMIT 1",
        )
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
        match (id, f.session_id) {
            (None, _) => return Ok(None),
            (Some(a), Some(b)) if a != b => return Ok(None),
            (Some(a), _) => f.session_id = Some(a),
        }
    }
    if let Some(name) = f.proposal.take() {
        let id: Option<u32> = sqlx::query_scalar(
            "SELECT p.proposalId FROM Proposal p WHERE CONCAT(p.proposalCode, p.proposalNumber) = ? LIMIT 1",
        )
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
        match (id, f.proposal_id) {
            (None, _) => return Ok(None),
            (Some(a), Some(b)) if a != b => return Ok(None),
            (Some(a), _) => f.proposal_id = Some(a),
        }
    }
    Ok(Some(f))
}

/// One page of the timeline, newest first, with each event's entity.
pub async fn list(db: &Db, access: &Access, f: &EventFilter, page: Page) -> crate::Result<Paged<Event>> {
    let Some(resolved) = resolve_names(db, f).await? else { return Ok(Paged::new(Vec::new(), 0, page)) };
    let f = &resolved;
    let kinds = Kinds::of(db, f);
    if !kinds.any() {
        return Ok(Paged::new(Vec::new(), 0, page));
    }
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM (");
    push_union(&mut count, db, access, f, &kinds);
    count.push(") u");
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    if total == 0 {
        return Ok(Paged::new(Vec::new(), 0, page));
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT u.id, u.type, u.startTime, u.endTime, CAST(u.duration AS DOUBLE) AS duration, u.count,
           u.attachments, u.session, u.sessionId, u.proposal, u.blSample, u.blSampleId FROM (",
    );
    push_union(&mut q, db, access, f, &kinds);
    q.push(") u ORDER BY u.startTime DESC, u.type, u.id DESC LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let raw: Vec<RawEvent> = q.build_query_as().fetch_all(db.pool()).await?;
    let mut events: Vec<Event> = raw
        .into_iter()
        .map(|r| Event {
            id: r.id.0,
            kind: r.kind,
            start_time: r.start_time,
            end_time: r.end_time,
            duration: r.duration,
            count: r.count.0,
            session: r.session,
            session_id: r.session_id.0,
            proposal: r.proposal,
            bl_sample: r.bl_sample,
            bl_sample_id: r.bl_sample_id.map(|i| i.0),
            attachments: r.attachments.0,
            item: None,
        })
        .collect();
    attach_items(db, &mut events).await?;
    Ok(Paged::new(events, total as u64, page))
}

fn ids_of(events: &[Event], kind: &str) -> Vec<u32> {
    events.iter().filter(|e| e.kind == kind).filter_map(|e| u32::try_from(e.id).ok()).collect()
}

async fn load_by_ids<T>(db: &Db, table: &str, key: &str, ids: &[u32]) -> crate::Result<Vec<T>>
where
    T: Table + for<'r> FromRow<'r, sqlx::mysql::MySqlRow> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM {table} x WHERE x.{key} IN (",
        T::meta().select("x", db.flavour())
    ));
    push_ids(&mut q, ids);
    q.push(")");
    Ok(q.build_query_as().fetch_all(db.pool()).await?)
}

/// Loads the data collections (with groups, workflows, grids) of these ids, by id.
pub async fn data_collection_items(db: &Db, ids: &[u32]) -> crate::Result<HashMap<u32, DataCollectionItem>> {
    let dcs: Vec<models::DataCollection> = load_by_ids(db, "DataCollection", "dataCollectionId", ids).await?;
    let group_ids: Vec<u32> = dcs.iter().filter_map(|d| u32::try_from(d.data_collection_group_id).ok()).collect();
    let groups: Vec<models::DataCollectionGroup> =
        load_by_ids(db, "DataCollectionGroup", "dataCollectionGroupId", &group_ids).await?;
    let workflow_ids: Vec<u32> = groups.iter().filter_map(|g| g.workflow_id).collect();
    let workflows: HashMap<u32, models::Workflow> = if has_table::<models::Workflow>(db) {
        load_by_ids::<models::Workflow>(db, "Workflow", "workflowId", &workflow_ids)
            .await?
            .into_iter()
            .map(|w| (w.workflow_id, w))
            .collect()
    } else {
        HashMap::new()
    };
    let mut grids: Vec<GridInfo> = Vec::new();
    if !group_ids.is_empty() {
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM GridInfo g WHERE g.dataCollectionGroupId IN (",
            grid_info_select("g", db.flavour())
        ));
        push_ids(&mut q, &group_ids);
        q.push(")");
        if db.flavour() == Flavour::Dls {
            q.push(" OR g.dataCollectionId IN (");
            push_ids(&mut q, ids);
            q.push(")");
        }
        q.push(" ORDER BY g.gridInfoId");
        grids = q.build_query_as().fetch_all(db.pool()).await?;
    }
    let groups: HashMap<i32, models::DataCollectionGroup> =
        groups.into_iter().map(|g| (g.data_collection_group_id, g)).collect();
    Ok(dcs
        .into_iter()
        .map(|dc| {
            let gid = dc.data_collection_group_id;
            let group = groups
                .get(&gid)
                .cloned()
                .map(|g| GroupItem { workflow: g.workflow_id.and_then(|w| workflows.get(&w).cloned()), base: g });
            let grid_info = grids
                .iter()
                .filter(|g| {
                    g.data_collection_group_id == Some(i64::from(gid))
                        || g.data_collection_id == Some(i64::from(dc.data_collection_id))
                })
                .cloned()
                .collect();
            (dc.data_collection_id, DataCollectionItem { base: dc, group, grid_info, metadata: Default::default() })
        })
        .collect())
}

async fn attach_items(db: &Db, events: &mut [Event]) -> crate::Result<()> {
    let mut dcs = data_collection_items(db, &ids_of(events, "dc")).await?;
    let robots: HashMap<u32, models::RobotAction> =
        load_by_ids::<models::RobotAction>(db, "RobotAction", "robotActionId", &ids_of(events, "robot"))
            .await?
            .into_iter()
            .map(|r| (r.robot_action_id, r))
            .collect();
    let xrfs: HashMap<u32, models::XfeFluorescenceSpectrum> = load_by_ids::<models::XfeFluorescenceSpectrum>(
        db,
        "XFEFluorescenceSpectrum",
        "xfeFluorescenceSpectrumId",
        &ids_of(events, "xrf"),
    )
    .await?
    .into_iter()
    .map(|r| (r.xfe_fluorescence_spectrum_id, r))
    .collect();
    let scans: HashMap<u32, models::EnergyScan> =
        load_by_ids::<models::EnergyScan>(db, "EnergyScan", "energyScanId", &ids_of(events, "es"))
            .await?
            .into_iter()
            .map(|r| (r.energy_scan_id, r))
            .collect();
    for e in events {
        let Ok(id) = u32::try_from(e.id) else { continue };
        e.item = match e.kind.as_str() {
            "dc" => dcs.remove(&id).map(|d| EventItem::Dc(Box::new(d))),
            "robot" => robots.get(&id).cloned().map(EventItem::Robot),
            "xrf" => xrfs.get(&id).cloned().map(EventItem::Xrf),
            "es" => scans.get(&id).cloned().map(EventItem::Es),
            _ => None,
        };
    }
    Ok(())
}

/// One kind of event present in a session.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct EventType {
    /// Display name.
    #[serde(rename = "eventTypeName")]
    pub event_type_name: String,
    /// Value for the `eventType` filter.
    #[serde(rename = "eventType")]
    pub event_type: String,
}

/// Filters of `GET /events/types`.
#[derive(Debug, Clone, Default)]
pub struct EventTypeFilter {
    /// Session name.
    pub session: Option<String>,
    /// Session id.
    pub session_id: Option<u32>,
    /// Sample.
    pub bl_sample_id: Option<u32>,
    /// Protein.
    pub protein_id: Option<u32>,
}

/// The experiment types of the visible data collection groups, then robot actions, XRF
/// spectra and energy scans when there are any; one statement.
pub async fn types(db: &Db, access: &Access, tf: &EventTypeFilter) -> crate::Result<Vec<EventType>> {
    let f = EventFilter {
        session: tf.session.clone(),
        session_id: tf.session_id,
        bl_sample_id: tf.bl_sample_id,
        protein_id: tf.protein_id,
        ..Default::default()
    };
    let Some(f) = resolve_names(db, &f).await? else { return Ok(Vec::new()) };
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT 0 AS o, t.experimentType AS name FROM (SELECT DISTINCT dcg.experimentType
           FROM DataCollectionGroup dcg
           JOIN BLSession s ON s.sessionId = dcg.sessionId
           JOIN Proposal p ON p.proposalId = s.proposalId
           LEFT JOIN BLSample bls ON bls.blSampleId = dcg.blSampleId WHERE dcg.experimentType <> ''",
    );
    push_common(&mut q, access, &f, "dcg.blSampleId");
    q.push(") t");
    for (o, table, session, sample) in [
        (1, "RobotAction", "x.blsessionId", "x.blsampleId"),
        (2, "XFEFluorescenceSpectrum", "x.sessionId", "x.blSampleId"),
        (3, "EnergyScan", "x.sessionId", "x.blSampleId"),
    ] {
        q.push(format_args!(
            " UNION ALL SELECT {o}, NULL FROM DUAL WHERE EXISTS (SELECT 1 FROM {table} x
               JOIN BLSession s ON s.sessionId = {session}
               JOIN Proposal p ON p.proposalId = s.proposalId
               LEFT JOIN BLSample bls ON bls.blSampleId = {sample} WHERE 1"
        ));
        push_common(&mut q, access, &f, sample);
        q.push(")");
    }
    q.push(" ORDER BY o, name");
    let rows: Vec<(i64, Option<String>)> = q.build_query_as().fetch_all(db.pool()).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(o, name)| {
            let (t, n) = match o {
                0 => {
                    let t = name?;
                    (t.clone(), t)
                }
                1 => ("robot".into(), "Sample Actions".into()),
                2 => ("xrf".into(), "XRF Spectrum".into()),
                _ => ("es".into(), "Energy Scan".into()),
            };
            Some(EventType { event_type_name: n, event_type: t })
        })
        .collect())
}

/// A visible data collection by id (the file routes locate and authorize through it).
pub async fn find_data_collection(
    db: &Db,
    access: &Access,
    data_collection_id: u32,
) -> crate::Result<Option<models::DataCollection>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM DataCollection dc
         JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN BLSession s ON s.sessionId = dcg.sessionId
         JOIN Proposal p ON p.proposalId = s.proposalId
         WHERE dc.dataCollectionId = ",
        <models::DataCollection as Table>::meta().select("dc", db.flavour())
    ));
    q.push_bind(data_collection_id);
    access.push_filter(&mut q, "p.proposalId", "s");
    Ok(q.build_query_as().fetch_optional(db.pool()).await?)
}

/// The newest visible data collection (py-ISPyB's `/data/images` without `dataCollectionId`
/// took the first event of the timeline).
pub async fn latest_data_collection(db: &Db, access: &Access) -> crate::Result<Option<models::DataCollection>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM DataCollection dc
         JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN BLSession s ON s.sessionId = dcg.sessionId
         JOIN Proposal p ON p.proposalId = s.proposalId
         WHERE 1",
        <models::DataCollection as Table>::meta().select("dc", db.flavour())
    ));
    access.push_filter(&mut q, "p.proposalId", "s");
    q.push(" ORDER BY dc.startTime DESC, dc.dataCollectionId DESC LIMIT 1");
    Ok(q.build_query_as().fetch_optional(db.pool()).await?)
}
