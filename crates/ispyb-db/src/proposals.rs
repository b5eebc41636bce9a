//! Proposals as py-ISPyB's `/proposals` lists them: the row, its name and session aggregates.

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::Table;
use crate::types::CsvList;
use crate::{Access, Db, Page, Paged, models};

/// A proposal with its computed name and `_metadata`.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Proposal)]
pub struct ProposalRow {
    /// The `Proposal` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::Proposal,
    /// Proposal name: code and number without separator (`MX1`, `blc00001`).
    #[serde(rename = "proposal")]
    #[sqlx(rename = "proposal")]
    pub name: Option<String>,
    /// Aggregates over the sessions the caller may see.
    #[sqlx(flatten)]
    #[serde(rename = "_metadata")]
    pub metadata: ProposalMetadata,
}

/// Aggregates of a proposal.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ProposalMetadata {
    /// Number of persons on the proposal (`ProposalHasPerson`).
    pub persons: i64,
    /// Number of visible sessions.
    pub sessions: i64,
    /// Beamlines of the visible sessions.
    #[sqlx(rename = "beamLines")]
    #[serde(rename = "beamLines")]
    #[schema(value_type = Vec<String>)]
    pub beam_lines: CsvList,
    /// UI groups of those beamlines (from the beamline groups option).
    #[sqlx(skip)]
    #[serde(rename = "uiGroups")]
    pub ui_groups: Vec<String>,
}

/// Filters of the proposal list.
#[derive(Debug, Clone, Default)]
pub struct ProposalFilter {
    /// Matches the title, a beamline name or the proposal name.
    pub search: Option<String>,
    /// Exact proposal name (`MX1`), case-insensitive.
    pub proposal: Option<String>,
}

fn select(db: &Db) -> String {
    format!(
        "SELECT {}, CONCAT(p.proposalCode, p.proposalNumber) AS proposal,
         COUNT(DISTINCT php.personId) AS persons, COUNT(DISTINCT s.sessionId) AS sessions,
         GROUP_CONCAT(DISTINCT s.beamLineName ORDER BY s.beamLineName) AS beamLines",
        <models::Proposal as Table>::meta().select("p", db.flavour())
    )
}

const FROM: &str = " FROM Proposal p
    LEFT JOIN BLSession s ON s.proposalId = p.proposalId
    LEFT JOIN ProposalHasPerson php ON php.proposalId = p.proposalId
    WHERE 1";

fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, filter: &ProposalFilter) {
    if let Some(search) = &filter.search {
        let like = format!("%{}%", escape_like(search));
        q.push(" AND (p.title LIKE ").push_bind(like.clone());
        // py-ISPyB passes the raw text here, so `%` matched every beamline; now it is literal.
        q.push(" OR s.beamLineName LIKE ").push_bind(escape_like(search));
        q.push(" OR CONCAT(p.proposalCode, p.proposalNumber) LIKE ").push_bind(like).push(")");
    }
    if let Some(name) = &filter.proposal {
        q.push(" AND CONCAT(p.proposalCode, p.proposalNumber) = ").push_bind(name.clone());
    }
    access.push_filter(q, "p.proposalId", "s");
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Lists the proposals the caller may see, newest first.
pub async fn list(db: &Db, access: &Access, filter: &ProposalFilter, page: Page) -> crate::Result<Paged<ProposalRow>> {
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(DISTINCT p.proposalId)");
    count.push(FROM);
    push_where(&mut count, access, filter);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;

    let mut q = QueryBuilder::<MySql>::new(select(db));
    q.push(FROM);
    push_where(&mut q, access, filter);
    q.push(" GROUP BY p.proposalId ORDER BY p.proposalId DESC LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    let rows = q.build_query_as::<ProposalRow>().fetch_all(db.pool()).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// Finds one visible proposal by name (`MX1`).
pub async fn find(db: &Db, access: &Access, name: &str) -> crate::Result<Option<ProposalRow>> {
    let filter = ProposalFilter { proposal: Some(name.to_string()), ..Default::default() };
    let mut q = QueryBuilder::<MySql>::new(select(db));
    q.push(FROM);
    push_where(&mut q, access, &filter);
    q.push(" GROUP BY p.proposalId ORDER BY p.proposalId DESC LIMIT 1");
    Ok(q.build_query_as::<ProposalRow>().fetch_optional(db.pool()).await?)
}
