//! Sessions (visits) as py-ISPyB's `/sessions` lists them: the row, its names, its beamline
//! setup and `_metadata`. Pages are chosen first, then enriched, so the per-row aggregates cost
//! a fixed number of statements per page whatever the size of the database.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::Table;
use crate::sql::push_ids;
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

/// The sessions and their proposals, for the filters that name a proposal or a session.
const FROM: &str = " FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId WHERE 1";
/// The sessions alone, for every other filter.
const FROM_SESSIONS: &str = " FROM BLSession s WHERE 1";

fn from(f: &SessionFilter) -> &'static str {
    if f.proposal.is_some() || f.session.is_some() { FROM } else { FROM_SESSIONS }
}

/// The sessions of a page read in start-date order: without a filter that finds few sessions
/// (one id, a proposal, a month) and for a caller who sees many, the page is the first rows of
/// the index on `startDate`. MariaDB misjudges how many rows the access check lets through and
/// may prefer sorting every session; the hint keeps it on the index (used only where the
/// database has it, as both real schemas do).
const FROM_SESSIONS_BY_START: &str = " FROM BLSession s FORCE INDEX FOR ORDER BY (Session_FKIndexStartDate) WHERE 1";

fn page_from(f: &SessionFilter, access: &Access, by_start: bool) -> &'static str {
    let few =
        f.session_id.is_some() || f.proposal.is_some() || f.session.is_some() || f.month.is_some() || f.year.is_some();
    if by_start && !few && !access.is_narrow() { FROM_SESSIONS_BY_START } else { from(f) }
}

/// Whether the database has `BLSession.Session_FKIndexStartDate`, asked once per database.
async fn has_start_date_index(db: &Db) -> crate::Result<bool> {
    static KNOWN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let o = db.pool().connect_options();
    let key = format!("{}:{}/{}", o.get_host(), o.get_port(), o.get_database().unwrap_or(""));
    let known = KNOWN.get_or_init(Default::default);
    if let Some(v) = known.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(*v);
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
         AND TABLE_NAME = 'BLSession' AND INDEX_NAME = 'Session_FKIndexStartDate'",
    )
    .fetch_one(db.pool())
    .await?;
    known.lock().unwrap_or_else(|e| e.into_inner()).insert(key, n > 0);
    Ok(n > 0)
}

/// Start of `month` of `year` and of the month after, as `DATETIME` literals.
fn month_range(year: i32, month: u32) -> (String, String) {
    let (ny, nm) = if month >= 12 { (year + 1, 1) } else { (year, month + 1) };
    (format!("{year:04}-{month:02}-01 00:00:00"), format!("{ny:04}-{nm:02}-01 00:00:00"))
}

fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &SessionFilter) {
    if let Some(id) = f.session_id {
        q.push(" AND s.sessionId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        crate::proposals::push_name(q, "p", name);
    }
    if let Some(name) = &f.session {
        // `MX1-3`: the proposal by its indexed code and number, then the visit number.
        if let Some((proposal, visit)) = name.rsplit_once('-')
            && !visit.is_empty()
            && visit.chars().all(|c| c.is_ascii_digit())
        {
            crate::proposals::push_name(q, "p", proposal);
        }
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
    // Date ranges on the indexed start and end dates (MariaDB merges the two index ranges);
    // a month without a year cannot be a range and reads every session.
    match (f.month, f.year) {
        (Some(m), Some(y)) => {
            let (from, to) = month_range(y, m);
            push_start_or_end_in(q, &from, &to);
        }
        (None, Some(y)) => {
            push_start_or_end_in(q, &format!("{y:04}-01-01 00:00:00"), &format!("{:04}-01-01 00:00:00", y + 1))
        }
        (Some(m), None) => {
            q.push(" AND (MONTH(s.startDate) = ").push_bind(m).push(" OR MONTH(s.endDate) = ").push_bind(m).push(")");
        }
        (None, None) => {}
    }
    access.push_filter(q, "s.proposalId", "s");
    access.push_session_candidates(q, "s.sessionId");
}

/// ` AND` the session starts or ends in `[from, to)`.
fn push_start_or_end_in(q: &mut QueryBuilder<MySql>, from: &str, to: &str) {
    q.push(" AND ((s.startDate >= ").push_bind(from.to_string()).push(" AND s.startDate < ").push_bind(to.to_string());
    q.push(") OR (s.endDate >= ")
        .push_bind(from.to_string())
        .push(" AND s.endDate < ")
        .push_bind(to.to_string())
        .push("))");
}

/// Lists visible sessions, latest start first: the page, its data collection counts and
/// beamline setups, and a bounded count when the page is full (at most four statements
/// whatever the page size).
pub async fn list(db: &Db, access: &Access, filter: &SessionFilter, page: Page) -> crate::Result<Paged<SessionRow>> {
    let rows = page_rows(db, access, filter, page).await?;
    let total = match crate::access::known_total(page, rows.len()) {
        Some(n) => n,
        None => {
            let mut count = crate::access::count_query();
            count.push(from(filter));
            push_where(&mut count, access, filter);
            crate::access::bounded_count(db, count, page).await?
        }
    };
    Ok(Paged::new(rows, total, page))
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
    q.push(page_from(filter, access, has_start_date_index(db).await?));
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
