//! Containers (pucks, plates): what a dewar carries and samples sit in.

use sqlx::types::Json;
use sqlx::{FromRow, MySql, QueryBuilder};

use crate::dewars::{SHIPPING_JSON, ShippingRef};
use crate::meta::Table;
use crate::write::{self, Changes};
use crate::{Access, Db, Page, Paged, models};

/// The dewar a container is in, with its shipment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DewarRef {
    /// `Dewar.dewarId`.
    #[serde(rename = "dewarId")]
    pub dewar_id: u32,
    /// `Dewar.code`.
    pub code: Option<String>,
    /// The shipment.
    #[serde(rename = "Shipping")]
    pub shipping: ShippingRef,
}

/// A container with its dewar and shipment.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Container)]
pub struct ContainerRow {
    /// The `Container` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::Container,
    /// Aggregates.
    #[sqlx(flatten)]
    #[serde(rename = "_metadata")]
    pub metadata: ContainerMetadata,
    /// The dewar.
    #[sqlx(rename = "Dewar")]
    #[serde(rename = "Dewar")]
    #[schema(value_type = DewarRef)]
    pub dewar: Json<DewarRef>,
}

/// Aggregates of a container.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ContainerMetadata {
    /// Number of samples in it.
    pub samples: i64,
}

/// Filters of the container list.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    /// One container.
    pub container_id: Option<u32>,
    /// Containers of a dewar.
    pub dewar_id: Option<u32>,
    /// Proposal name.
    pub proposal: Option<String>,
    /// Proposal id.
    pub proposal_id: Option<u32>,
}

/// `STRAIGHT_JOIN ` when the page is best read from `Container` in primary-key order (no
/// proposal to start from, a caller who sees many): MariaDB would otherwise start from `Dewar`
/// and sort every container.
fn straight(access: &Access, f: &ContainerFilter) -> &'static str {
    if f.proposal.is_none() && f.proposal_id.is_none() && f.dewar_id.is_none() && !access.is_narrow() {
        "STRAIGHT_JOIN "
    } else {
        ""
    }
}

/// The containers with their dewar and shipment, joined to the proposal only when the filter
/// names one.
fn from(f: &ContainerFilter) -> &'static str {
    if f.proposal.is_some() {
        " FROM Container c JOIN Dewar d ON d.dewarId = c.dewarId JOIN Shipping sh ON sh.shippingId = d.shippingId
          JOIN Proposal p ON p.proposalId = sh.proposalId WHERE 1"
    } else {
        " FROM Container c JOIN Dewar d ON d.dewarId = c.dewarId JOIN Shipping sh ON sh.shippingId = d.shippingId WHERE 1"
    }
}

fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &ContainerFilter) {
    if let Some(id) = f.container_id {
        q.push(" AND c.containerId = ").push_bind(id);
    }
    if let Some(id) = f.dewar_id {
        q.push(" AND c.dewarId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        crate::proposals::push_name(q, "p", name);
    }
    if let Some(id) = f.proposal_id {
        q.push(" AND sh.proposalId = ").push_bind(id);
    }
    access.push_proposal_filter(q, "sh.proposalId");
}

/// Lists visible containers by id (with or without samples, unlike py-ISPyB).
pub async fn list(
    db: &Db,
    access: &Access,
    filter: &ContainerFilter,
    page: Page,
) -> crate::Result<Paged<ContainerRow>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}{}, (SELECT COUNT(*) FROM BLSample bs WHERE bs.containerId = c.containerId) AS samples,
           JSON_OBJECT('dewarId', d.dewarId, 'code', d.code, 'Shipping', {SHIPPING_JSON}) AS Dewar",
        straight(access, filter),
        <models::Container as Table>::meta().select("c", db.flavour())
    ));
    q.push(from(filter));
    push_where(&mut q, access, filter);
    q.push(" ORDER BY c.containerId LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let rows = q.build_query_as().fetch_all(db.pool()).await?;
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

/// One visible container.
pub async fn find(db: &Db, access: &Access, id: u32) -> crate::Result<Option<ContainerRow>> {
    let filter = ContainerFilter { container_id: Some(id), ..Default::default() };
    Ok(list(db, access, &filter, Page { skip: 0, limit: 1 }).await?.results.pop())
}

/// Inserts a container; returns its id.
pub async fn create(db: &Db, values: &Changes) -> crate::Result<u32> {
    let mut tx = db.pool().begin().await?;
    let id = write::insert(&mut tx, "Container", values).await?;
    tx.commit().await?;
    Ok(id)
}

/// Updates the given columns of a container.
pub async fn update(db: &Db, id: u32, changes: &Changes) -> crate::Result<()> {
    let mut tx = db.pool().begin().await?;
    write::update(&mut tx, "Container", "containerId", id, changes).await?;
    tx.commit().await?;
    Ok(())
}
