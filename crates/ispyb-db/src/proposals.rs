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

/// The row filter of py-ISPyB's query, over a proposal `p` outer-joined to its sessions `s`:
/// which (proposal, session) rows the aggregates are taken over.
fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, filter: &ProposalFilter) {
    if let Some(search) = &filter.search {
        let like = format!("%{}%", escape_like(search));
        q.push(" AND (p.title LIKE ").push_bind(like.clone());
        // py-ISPyB passes the raw text here, so `%` matched every beamline; now it is literal.
        q.push(" OR s.beamLineName LIKE ").push_bind(escape_like(search));
        q.push(" OR CONCAT(p.proposalCode, p.proposalNumber) LIKE ").push_bind(like).push(")");
    }
    if let Some(name) = &filter.proposal {
        push_name(q, "p", name);
    }
    access.push_filter(q, "p.proposalId", "s");
}

/// The same filter per proposal, for choosing a page from `Proposal` alone: a proposal is
/// listed when some row of it passes [`push_where`]. Without a search that is exactly
/// [`Access::push_proposal_filter`]; with one, the title or name matches and the proposal is
/// visible, or one of its sessions the caller may see is on a matching beamline.
fn push_listed(q: &mut QueryBuilder<MySql>, access: &Access, filter: &ProposalFilter) {
    if let Some(name) = &filter.proposal {
        push_name(q, "p", name);
    }
    match &filter.search {
        None => access.push_proposal_filter(q, "p.proposalId"),
        Some(search) => {
            let like = format!("%{}%", escape_like(search));
            q.push(" AND (((p.title LIKE ").push_bind(like.clone());
            q.push(" OR CONCAT(p.proposalCode, p.proposalNumber) LIKE ").push_bind(like).push(")");
            access.push_proposal_filter(q, "p.proposalId");
            q.push(") OR (SELECT 1 FROM BLSession s WHERE s.proposalId = p.proposalId AND s.beamLineName LIKE ")
                .push_bind(escape_like(search));
            access.push_filter(q, "p.proposalId", "s");
            q.push(" LIMIT 1) IS NOT NULL)");
        }
    }
    // A caller who is on a few proposals: start from those.
    access.push_proposal_candidates(q, "p.proposalId");
}

/// Appends ` AND` the proposal named `name` (`MX1`, case-insensitive) for the `Proposal`
/// alias `p`: `CONCAT(proposalCode, proposalNumber) = name`, preceded by the equivalent
/// `(proposalCode, proposalNumber)` pairs of every way to split the name, which the index on
/// those two columns finds directly (the `CONCAT` alone reads every proposal).
pub fn push_name(q: &mut QueryBuilder<MySql>, p: &str, name: &str) {
    let splits: Vec<usize> = name.char_indices().map(|(i, _)| i).chain(std::iter::once(name.len())).collect();
    if splits.len() <= 64 {
        q.push(" AND (");
        for (k, &i) in splits.iter().enumerate() {
            if k > 0 {
                q.push(" OR ");
            }
            q.push(format_args!("({p}.proposalCode = ")).push_bind(name[..i].to_string());
            q.push(format_args!(" AND {p}.proposalNumber = ")).push_bind(name[i..].to_string()).push(")");
        }
        q.push(")");
    }
    q.push(format_args!(" AND CONCAT({p}.proposalCode, {p}.proposalNumber) = ")).push_bind(name.to_string());
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Lists the proposals the caller may see, newest first: the page (its ids chosen from
/// `Proposal` in primary-key order, then the aggregates of those proposals only) and, when
/// the page is full, a bounded count.
pub async fn list(db: &Db, access: &Access, filter: &ProposalFilter, page: Page) -> crate::Result<Paged<ProposalRow>> {
    let rows = page_rows(db, access, filter, page).await?;
    let total = match crate::access::known_total(page, rows.len()) {
        Some(n) => n,
        None => {
            let mut count = crate::access::count_query();
            count.push(" FROM Proposal p WHERE 1");
            push_listed(&mut count, access, filter);
            crate::access::bounded_count(db, count, page).await?
        }
    };
    Ok(Paged::new(rows, total, page))
}

async fn page_rows(db: &Db, access: &Access, filter: &ProposalFilter, page: Page) -> crate::Result<Vec<ProposalRow>> {
    let mut q = QueryBuilder::<MySql>::new(select(db));
    q.push(" FROM (SELECT p.proposalId FROM Proposal p WHERE 1");
    push_listed(&mut q, access, filter);
    q.push(" ORDER BY p.proposalId DESC LIMIT ").push_bind(page.limit);
    q.push(" OFFSET ").push_bind(page.skip);
    q.push(
        ") page JOIN Proposal p ON p.proposalId = page.proposalId
         LEFT JOIN BLSession s ON s.proposalId = p.proposalId
         LEFT JOIN ProposalHasPerson php ON php.proposalId = p.proposalId
         WHERE 1",
    );
    // The same row filter, so the aggregates are over the sessions the caller may see.
    push_where(&mut q, access, filter);
    q.push(" GROUP BY p.proposalId ORDER BY p.proposalId DESC");
    Ok(q.build_query_as::<ProposalRow>().fetch_all(db.pool()).await?)
}

/// Finds one visible proposal by name (`MX1`).
pub async fn find(db: &Db, access: &Access, name: &str) -> crate::Result<Option<ProposalRow>> {
    let filter = ProposalFilter { proposal: Some(name.to_string()), ..Default::default() };
    Ok(page_rows(db, access, &filter, Page { skip: 0, limit: 1 }).await?.pop())
}
