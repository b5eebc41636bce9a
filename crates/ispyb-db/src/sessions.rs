//! Sessions (visits) as py-ISPyB's `/sessions` lists them: the row, its names, its beamline
//! setup and `_metadata`. Pages are chosen first, then enriched, so the per-row aggregates cost
//! a fixed number of statements per page whatever the size of the database.

use std::collections::HashMap;

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::Table;
use crate::types::CsvList;
use crate::{Access, Db, Page, Paged, models};

/// A session with its names, beamline setup and `_metadata`.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
pub struct SessionRow {
    /// The `BLSession` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::BlSession,
    /// Session name: proposal name, `-`, visit number (`MX1-3`); null without a visit number.
    #[sqlx(rename = "session")]
    #[serde(rename = "session")]
    pub name: Option<String>,
    /// Proposal name (`MX1`).
    pub proposal: Option<String>,
    /// The beamline setup the session points to.
    #[sqlx(skip)]
    #[serde(rename = "BeamLineSetup")]
    pub beam_line_setup: Option<models::BeamLineSetup>,
    /// Aggregates.
    #[sqlx(flatten)]
    #[serde(rename = "_metadata")]
    pub metadata: SessionMetadata,
}

/// Aggregates of a session.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct SessionMetadata {
    /// Data collections in the session's groups.
    #[sqlx(skip)]
    pub datacollections: i64,
    /// UI groups of the session's beamline.
    #[sqlx(skip)]
    #[serde(rename = "uiGroups")]
    pub ui_groups: Vec<String>,
    /// Persons on the session (`Session_has_Person`).
    pub persons: i64,
    /// The session is running now.
    pub active: bool,
    /// The session starts or ends within 20 minutes, or is running.
    pub active_soon: bool,
    /// Session types (`SessionType.typeName`).
    #[sqlx(rename = "sessionTypes")]
    #[serde(rename = "sessionTypes")]
    #[schema(value_type = Vec<String>)]
    pub session_types: CsvList,
}

/// Filters of the session list; every given filter applies (an unknown name matches nothing).
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// One session by id.
    pub session_id: Option<u32>,
    /// Proposal name (`MX1`).
    pub proposal: Option<String>,
    /// Session name (`MX1-3`).
    pub session: Option<String>,
    /// Exact beamline.
    pub beam_line_name: Option<String>,
    /// Any of these beamlines (a beamline group); `Some(vec![])` matches nothing.
    pub beam_lines: Option<Vec<String>>,
    /// Only scheduled sessions.
    pub scheduled: bool,
    /// Sessions that have not ended.
    pub upcoming: bool,
    /// Sessions that have ended.
    pub previous: bool,
    /// Sessions of this type.
    pub session_type: Option<String>,
    /// Sessions starting or ending in this month (1 to 12)…
    pub month: Option<u32>,
    /// …of this year.
    pub year: Option<i32>,
}

const FROM: &str = " FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId WHERE 1";

fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &SessionFilter) {
    if let Some(id) = f.session_id {
        q.push(" AND s.sessionId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        q.push(" AND CONCAT(p.proposalCode, p.proposalNumber) = ").push_bind(name.clone());
    }
    if let Some(name) = &f.session {
        q.push(" AND CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number) = ").push_bind(name.clone());
    }
    if let Some(bl) = &f.beam_line_name {
        q.push(" AND s.beamLineName = ").push_bind(bl.clone());
    }
    if let Some(bls) = &f.beam_lines {
        if bls.is_empty() {
            q.push(" AND 0");
        } else {
            q.push(" AND s.beamLineName IN (");
            let mut sep = q.separated(", ");
            for b in bls {
                sep.push_bind(b.clone());
            }
            q.push(")");
        }
    }
    if f.scheduled {
        q.push(" AND s.scheduled = 1");
    }
    if f.upcoming {
        q.push(" AND s.endDate >= NOW()");
    }
    if f.previous {
        q.push(" AND s.endDate < NOW()");
    }
    if let Some(t) = &f.session_type {
        q.push(" AND EXISTS (SELECT 1 FROM SessionType st WHERE st.sessionId = s.sessionId AND st.typeName = ")
            .push_bind(t.clone())
            .push(")");
    }
    if let Some(m) = f.month {
        q.push(" AND (MONTH(s.startDate) = ").push_bind(m).push(" OR MONTH(s.endDate) = ").push_bind(m).push(")");
    }
    if let Some(y) = f.year {
        q.push(" AND (YEAR(s.startDate) = ").push_bind(y).push(" OR YEAR(s.endDate) = ").push_bind(y).push(")");
    }
    access.push_filter(q, "p.proposalId", "s");
}

/// Lists visible sessions, latest start first.
pub async fn list(db: &Db, access: &Access, filter: &SessionFilter, page: Page) -> crate::Result<Paged<SessionRow>> {
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*)");
    count.push(FROM);
    push_where(&mut count, access, filter);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let rows = page_rows(db, access, filter, page).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// One visible session by id.
pub async fn find(db: &Db, access: &Access, session_id: u32) -> crate::Result<Option<SessionRow>> {
    let filter = SessionFilter { session_id: Some(session_id), ..Default::default() };
    Ok(page_rows(db, access, &filter, Page { skip: 0, limit: 1 }).await?.pop())
}

/// The rows of one page, with their beamline setups and data collection counts.
pub async fn page_rows(db: &Db, access: &Access, filter: &SessionFilter, page: Page) -> crate::Result<Vec<SessionRow>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, CONCAT(p.proposalCode, p.proposalNumber) AS proposal,
           CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number) AS session,
           (SELECT COUNT(*) FROM Session_has_Person shp2 WHERE shp2.sessionId = s.sessionId) AS persons,
           COALESCE(s.startDate <= NOW() AND s.endDate >= NOW(), 0) AS active,
           COALESCE(s.startDate <= NOW() + INTERVAL 20 MINUTE AND s.endDate >= NOW() - INTERVAL 20 MINUTE, 0) AS active_soon,
           (SELECT GROUP_CONCAT(DISTINCT st.typeName ORDER BY st.typeName) FROM SessionType st WHERE st.sessionId = s.sessionId) AS sessionTypes
         FROM (SELECT s.sessionId",
        <models::BlSession as Table>::meta().select("s", db.flavour())
    ));
    q.push(FROM);
    push_where(&mut q, access, filter);
    q.push(" ORDER BY s.startDate DESC, s.sessionId DESC LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    q.push(
        ") page JOIN BLSession s ON s.sessionId = page.sessionId JOIN Proposal p ON p.proposalId = s.proposalId
         ORDER BY s.startDate DESC, s.sessionId DESC",
    );
    let mut rows: Vec<SessionRow> = q.build_query_as().fetch_all(db.pool()).await?;
    if rows.is_empty() {
        return Ok(rows);
    }

    let ids: Vec<u32> = rows.iter().map(|r| r.base.session_id).collect();
    let mut counts = QueryBuilder::<MySql>::new(
        "SELECT dcg.sessionId, COUNT(dc.dataCollectionId) FROM DataCollectionGroup dcg
         JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId WHERE dcg.sessionId IN (",
    );
    push_ids(&mut counts, &ids);
    counts.push(") GROUP BY dcg.sessionId");
    let counts: HashMap<u32, i64> =
        counts.build_query_as::<(u32, i64)>().fetch_all(db.pool()).await?.into_iter().collect();

    let setup_ids: Vec<u32> = rows.iter().filter_map(|r| r.base.beam_line_setup_id).collect();
    let mut setups: HashMap<u32, models::BeamLineSetup> = HashMap::new();
    if !setup_ids.is_empty() {
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM BeamLineSetup b WHERE b.beamLineSetupId IN (",
            <models::BeamLineSetup as Table>::meta().select("b", db.flavour())
        ));
        push_ids(&mut q, &setup_ids);
        q.push(")");
        let found: Vec<models::BeamLineSetup> = q.build_query_as().fetch_all(db.pool()).await?;
        setups = found.into_iter().map(|s| (s.beam_line_setup_id, s)).collect();
    }
    for row in &mut rows {
        row.metadata.datacollections = counts.get(&row.base.session_id).copied().unwrap_or(0);
        row.beam_line_setup = row.base.beam_line_setup_id.and_then(|id| setups.get(&id).cloned());
    }
    Ok(rows)
}

fn push_ids(q: &mut QueryBuilder<MySql>, ids: &[u32]) {
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
}
