//! Dewars: the transport vessels of a shipment.

use sqlx::types::Json;
use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::Table;
use crate::write::{self, Changes};
use crate::{Access, Db, Page, Paged, models};

/// The shipment a dewar or container belongs to, as py-ISPyB nests it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ShippingRef {
    /// `Shipping.shippingId`.
    #[serde(rename = "shippingId")]
    pub shipping_id: u32,
    /// `Shipping.proposalId`.
    #[serde(rename = "proposalId")]
    pub proposal_id: u32,
    /// `Shipping.shippingName`.
    #[serde(rename = "shippingName")]
    pub shipping_name: Option<String>,
}

/// A dewar with its shipment.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Dewar)]
pub struct DewarRow {
    /// The `Dewar` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::Dewar,
    /// py-ISPyB's name for the `type` column (`Dewar` or `Toolbox`).
    #[sqlx(rename = "dewarType")]
    #[serde(rename = "dewarType")]
    pub dewar_type: Option<String>,
    /// The shipment.
    #[sqlx(rename = "Shipping")]
    #[serde(rename = "Shipping")]
    #[schema(value_type = ShippingRef)]
    pub shipping: Json<ShippingRef>,
}

/// Filters of the dewar list.
#[derive(Debug, Clone, Default)]
pub struct DewarFilter {
    /// One dewar.
    pub dewar_id: Option<u32>,
    /// Dewars of a shipment.
    pub shipping_id: Option<u32>,
    /// Proposal name.
    pub proposal: Option<String>,
    /// Proposal id.
    pub proposal_id: Option<u32>,
}

/// `STRAIGHT_JOIN ` when the page is best read from `Dewar` in primary-key order (no shipment
/// or proposal to start from, a caller who sees many), rather than from `Shipping` and sorted.
fn straight(access: &Access, f: &DewarFilter) -> &'static str {
    if f.proposal.is_none() && f.proposal_id.is_none() && f.shipping_id.is_none() && !access.is_narrow() {
        "STRAIGHT_JOIN "
    } else {
        ""
    }
}

/// The dewars with their shipment, joined to the proposal only when the filter names one.
fn from(f: &DewarFilter) -> &'static str {
    if f.proposal.is_some() {
        " FROM Dewar d JOIN Shipping sh ON sh.shippingId = d.shippingId JOIN Proposal p ON p.proposalId = sh.proposalId WHERE 1"
    } else {
        " FROM Dewar d JOIN Shipping sh ON sh.shippingId = d.shippingId WHERE 1"
    }
}

/// The nested shipment, built in SQL.
pub(crate) const SHIPPING_JSON: &str =
    "JSON_OBJECT('shippingId', sh.shippingId, 'proposalId', sh.proposalId, 'shippingName', sh.shippingName)";

fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &DewarFilter) {
    if let Some(id) = f.dewar_id {
        q.push(" AND d.dewarId = ").push_bind(id);
    }
    if let Some(id) = f.shipping_id {
        q.push(" AND d.shippingId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        crate::proposals::push_name(q, "p", name);
    }
    if let Some(id) = f.proposal_id {
        q.push(" AND sh.proposalId = ").push_bind(id);
    }
    access.push_proposal_filter(q, "sh.proposalId");
}

/// Lists visible dewars by id.
pub async fn list(db: &Db, access: &Access, filter: &DewarFilter, page: Page) -> crate::Result<Paged<DewarRow>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}{}, d.`type` AS dewarType, {SHIPPING_JSON} AS Shipping",
        straight(access, filter),
        <models::Dewar as Table>::meta().select("d", db.flavour())
    ));
    q.push(from(filter));
    push_where(&mut q, access, filter);
    q.push(" ORDER BY d.dewarId LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
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

/// One visible dewar.
pub async fn find(db: &Db, access: &Access, id: u32) -> crate::Result<Option<DewarRow>> {
    let filter = DewarFilter { dewar_id: Some(id), ..Default::default() };
    Ok(list(db, access, &filter, Page { skip: 0, limit: 1 }).await?.results.pop())
}

/// The proposal of a dewar, when it exists.
pub async fn proposal_of(db: &Db, dewar_id: u32) -> crate::Result<Option<u32>> {
    Ok(sqlx::query_scalar(
        "SELECT sh.proposalId FROM Dewar d JOIN Shipping sh ON sh.shippingId = d.shippingId WHERE d.dewarId = ?",
    )
    .bind(dewar_id)
    .fetch_optional(db.pool())
    .await?)
}

/// Inserts a dewar; returns its id.
pub async fn create(db: &Db, values: &Changes) -> crate::Result<u32> {
    let mut tx = db.pool().begin().await?;
    let id = write::insert(&mut tx, "Dewar", values).await?;
    tx.commit().await?;
    Ok(id)
}

/// Updates the given columns of a dewar.
pub async fn update(db: &Db, id: u32, changes: &Changes) -> crate::Result<()> {
    let mut tx = db.pool().begin().await?;
    write::update(&mut tx, "Dewar", "dewarId", id, changes).await?;
    tx.commit().await?;
    Ok(())
}
