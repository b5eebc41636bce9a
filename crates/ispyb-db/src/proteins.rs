//! Proteins (macromolecules, the `Protein` table) as py-ISPyB's `/proteins` lists them: the
//! row, its component type and `_metadata` counts. A protein belongs to one proposal; that
//! proposal decides who sees it. Pages are chosen first (an index-ordered `LIMIT` on `Protein`),
//! then enriched by one statement, whatever the size of the database.

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::Table;
use crate::proposals::escape_like;
use crate::{Access, Db, Page, Paged, models};

/// A protein with its component type and `_metadata`.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Protein)]
pub struct ProteinRow {
    /// The `Protein` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::Protein,
    /// Density: py-ISPyB's schema names it but no ISPyB schema has the column; always null.
    #[sqlx(skip)]
    pub density: Option<f64>,
    /// The component type (`Protein.componentTypeId`), e.g. `{"componentTypeId": 1, "name": "Protein"}`.
    #[sqlx(skip)]
    #[serde(rename = "ComponentType")]
    pub component_type: Option<models::ComponentType>,
    #[sqlx(rename = "componentTypeName")]
    #[serde(skip)]
    component_type_name: Option<String>,
    /// Counts of what refers to the protein.
    #[sqlx(flatten)]
    #[serde(rename = "_metadata")]
    pub metadata: ProteinMetadata,
}

/// Counts of what refers to a protein.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ProteinMetadata {
    /// PDB entries linked to the protein (`Protein_has_PDB`).
    pub pdbs: i64,
    /// Crystals of the protein.
    pub crystals: i64,
    /// Samples of those crystals.
    pub samples: i64,
    /// Data collections of those samples.
    pub datacollections: i64,
}

/// Sort keys of the protein list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
pub enum ProteinOrderBy {
    /// `proteinId` (the default).
    #[default]
    #[serde(rename = "proteinId")]
    ProteinId,
    /// Acronym.
    #[serde(rename = "acronym")]
    Acronym,
    /// Name.
    #[serde(rename = "name")]
    Name,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl SortOrder {
    /// The SQL keyword.
    pub fn sql(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

/// Filters of the protein list; every given filter applies (an unknown name matches nothing).
#[derive(Debug, Clone, Default)]
pub struct ProteinFilter {
    /// One protein by id.
    pub protein_id: Option<u32>,
    /// Proposal name (`MX1`), case-insensitive.
    pub proposal: Option<String>,
    /// Text in the name or the acronym (matched literally).
    pub search: Option<String>,
    /// Sort key; `proteinId` when not given.
    pub order_by: Option<ProteinOrderBy>,
    /// Sort direction; ascending when not given.
    pub order: Option<SortOrder>,
}

/// Appends ` AND …` keeping rows whose proposal (`proposal_expr`, a column of the query) the
/// caller may see: [`Access::push_proposal_filter`], the rule of every object reached through a
/// proposal only (py-ISPyB's outer join on `BLSession`, without multiplying rows).
pub fn push_visible(q: &mut QueryBuilder<MySql>, access: &Access, proposal_expr: &str) {
    access.push_proposal_filter(q, proposal_expr);
}

/// Appends ` AND <column> IN (proposal ids named <name>)`: an unknown name matches nothing.
pub fn push_proposal_name(q: &mut QueryBuilder<MySql>, column: &str, name: &str) {
    q.push(format_args!(
        " AND {column} IN (SELECT pn.proposalId FROM Proposal pn WHERE CONCAT(pn.proposalCode, pn.proposalNumber) = "
    ));
    q.push_bind(name.to_string()).push(")");
}

const FROM: &str = " FROM Protein pr WHERE 1";

fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &ProteinFilter) {
    if let Some(id) = f.protein_id {
        q.push(" AND pr.proteinId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        push_proposal_name(q, "pr.proposalId", name);
    }
    if let Some(search) = &f.search {
        let like = format!("%{}%", escape_like(search));
        q.push(" AND (pr.name LIKE ").push_bind(like.clone()).push(" OR pr.acronym LIKE ").push_bind(like).push(")");
    }
    push_visible(q, access, "pr.proposalId");
}

fn order_by(f: &ProteinFilter) -> String {
    let dir = f.order.unwrap_or(SortOrder::Asc).sql();
    match f.order_by.unwrap_or_default() {
        ProteinOrderBy::ProteinId => format!(" ORDER BY pr.proteinId {dir}"),
        ProteinOrderBy::Acronym => format!(" ORDER BY pr.acronym {dir}, pr.proteinId {dir}"),
        ProteinOrderBy::Name => format!(" ORDER BY pr.name {dir}, pr.proteinId {dir}"),
    }
}

/// Lists the proteins the caller may see (by `proteinId` unless told otherwise).
pub async fn list(db: &Db, access: &Access, filter: &ProteinFilter, page: Page) -> crate::Result<Paged<ProteinRow>> {
    let mut count = QueryBuilder::<MySql>::new("SELECT COUNT(*)");
    count.push(FROM);
    push_where(&mut count, access, filter);
    let total: i64 = count.build_query_scalar().fetch_one(db.pool()).await?;
    let rows = page_rows(db, access, filter, page).await?;
    Ok(Paged::new(rows, total as u64, page))
}

/// One visible protein by id.
pub async fn find(db: &Db, access: &Access, protein_id: u32) -> crate::Result<Option<ProteinRow>> {
    let filter = ProteinFilter { protein_id: Some(protein_id), ..Default::default() };
    Ok(page_rows(db, access, &filter, Page { skip: 0, limit: 1 }).await?.pop())
}

async fn page_rows(db: &Db, access: &Access, filter: &ProteinFilter, page: Page) -> crate::Result<Vec<ProteinRow>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, ct.name AS componentTypeName,
           (SELECT COUNT(*) FROM Protein_has_PDB php WHERE php.proteinid = pr.proteinId) AS pdbs,
           (SELECT COUNT(*) FROM Crystal c WHERE c.proteinId = pr.proteinId) AS crystals,
           (SELECT COUNT(*) FROM Crystal c JOIN BLSample b ON b.crystalId = c.crystalId
             WHERE c.proteinId = pr.proteinId) AS samples,
           (SELECT COUNT(*) FROM Crystal c JOIN BLSample b ON b.crystalId = c.crystalId
             JOIN DataCollectionGroup dcg ON dcg.blSampleId = b.blSampleId
             JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId
             WHERE c.proteinId = pr.proteinId) AS datacollections
         FROM (SELECT pr.proteinId",
        <models::Protein as Table>::meta().select("pr", db.flavour())
    ));
    q.push(FROM);
    push_where(&mut q, access, filter);
    q.push(order_by(filter));
    q.push(" LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    q.push(
        ") page JOIN Protein pr ON pr.proteinId = page.proteinId
         LEFT JOIN ComponentType ct ON ct.componentTypeId = pr.componentTypeId",
    );
    q.push(order_by(filter));
    let mut rows: Vec<ProteinRow> = q.build_query_as().fetch_all(db.pool()).await?;
    for row in &mut rows {
        row.component_type = match (row.base.component_type_id, row.component_type_name.take()) {
            (Some(id), Some(name)) => Some(models::ComponentType { component_type_id: id, name }),
            _ => None,
        };
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_proposal_names_match_nothing() {
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 FROM Protein pr WHERE 1");
        push_visible(&mut q, &Access::All, "pr.proposalId");
        assert_eq!(q.sql().as_str(), "SELECT 1 FROM Protein pr WHERE 1");
        push_proposal_name(&mut q, "pr.proposalId", "XX99");
        assert!(q.sql().as_str().ends_with("AND pr.proposalId IN (SELECT pn.proposalId FROM Proposal pn WHERE CONCAT(pn.proposalCode, pn.proposalNumber) = ?)"));
    }

    #[test]
    fn default_order_is_protein_id_ascending() {
        assert_eq!(order_by(&ProteinFilter::default()), " ORDER BY pr.proteinId ASC");
        let f =
            ProteinFilter { order_by: Some(ProteinOrderBy::Name), order: Some(SortOrder::Desc), ..Default::default() };
        assert_eq!(order_by(&f), " ORDER BY pr.name DESC, pr.proteinId DESC");
    }
}
