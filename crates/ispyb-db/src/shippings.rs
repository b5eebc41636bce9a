//! Shipments: a proposal's parcel of dewars, with its sending and return lab contacts.

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::labcontacts::{self, LabContactRow};
use crate::meta::Table;
use crate::write::{self, Changes};
use crate::{Access, Db, Page, Paged, models};

/// A shipment with its contacts and dewar count.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Shipping)]
pub struct ShippingRow {
    /// The `Shipping` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::Shipping,
    /// Aggregates.
    #[sqlx(flatten)]
    #[serde(rename = "_metadata")]
    pub metadata: ShippingMetadata,
    /// The return lab contact (py-ISPyB's name for it).
    #[sqlx(skip)]
    #[serde(rename = "LabContact")]
    pub return_lab_contact: Option<LabContactRow>,
    /// The sending lab contact (py-ISPyB's name for it).
    #[sqlx(skip)]
    #[serde(rename = "LabContact1")]
    pub sending_lab_contact: Option<LabContactRow>,
}

/// Aggregates of a shipment.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ShippingMetadata {
    /// Number of dewars.
    pub dewars: i64,
}

/// Filters of the shipment list.
#[derive(Debug, Clone, Default)]
pub struct ShippingFilter {
    /// One shipment.
    pub shipping_id: Option<u32>,
    /// Proposal name.
    pub proposal: Option<String>,
    /// Proposal id.
    pub proposal_id: Option<u32>,
}

/// The shipments, joined to their proposal only when the filter names one.
fn from(f: &ShippingFilter) -> &'static str {
    if f.proposal.is_some() {
        " FROM Shipping sh JOIN Proposal p ON p.proposalId = sh.proposalId WHERE 1"
    } else {
        " FROM Shipping sh WHERE 1"
    }
}

fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &ShippingFilter) {
    if let Some(id) = f.shipping_id {
        q.push(" AND sh.shippingId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        crate::proposals::push_name(q, "p", name);
    }
    if let Some(id) = f.proposal_id {
        q.push(" AND sh.proposalId = ").push_bind(id);
    }
    access.push_proposal_filter(q, "sh.proposalId");
}

/// Lists visible shipments, newest first.
pub async fn list(db: &Db, access: &Access, filter: &ShippingFilter, page: Page) -> crate::Result<Paged<ShippingRow>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}, (SELECT COUNT(*) FROM Dewar d WHERE d.shippingId = sh.shippingId) AS dewars",
        <models::Shipping as Table>::meta().select("sh", db.flavour())
    ));
    q.push(from(filter));
    push_where(&mut q, access, filter);
    q.push(" ORDER BY sh.shippingId DESC LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let mut rows: Vec<ShippingRow> = q.build_query_as().fetch_all(db.pool()).await?;
    let ids: Vec<u32> =
        rows.iter().flat_map(|r| [r.base.sending_lab_contact_id, r.base.return_lab_contact_id]).flatten().collect();
    let contacts = labcontacts::by_ids(db, &ids).await?;
    for r in &mut rows {
        r.return_lab_contact = r.base.return_lab_contact_id.and_then(|id| contacts.get(&id).cloned());
        r.sending_lab_contact = r.base.sending_lab_contact_id.and_then(|id| contacts.get(&id).cloned());
    }
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

/// One visible shipment.
pub async fn find(db: &Db, access: &Access, id: u32) -> crate::Result<Option<ShippingRow>> {
    let filter = ShippingFilter { shipping_id: Some(id), ..Default::default() };
    Ok(list(db, access, &filter, Page { skip: 0, limit: 1 }).await?.results.pop())
}

/// The proposal of a shipment, when it exists.
pub async fn proposal_of(db: &Db, shipping_id: u32) -> crate::Result<Option<u32>> {
    Ok(sqlx::query_scalar("SELECT proposalId FROM Shipping WHERE shippingId = ?")
        .bind(shipping_id)
        .fetch_optional(db.pool())
        .await?)
}

/// Whether a lab contact belongs to a proposal.
pub async fn contact_in_proposal(db: &Db, lab_contact_id: u32, proposal_id: u32) -> crate::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM LabContact WHERE labContactId = ? AND proposalId = ?")
        .bind(lab_contact_id)
        .bind(proposal_id)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// Inserts a shipment; returns its id.
pub async fn create(db: &Db, values: &Changes) -> crate::Result<u32> {
    let mut tx = db.pool().begin().await?;
    let id = write::insert(&mut tx, "Shipping", values).await?;
    sqlx::query("UPDATE Shipping SET bltimeStamp = NOW(), creationDate = NOW() WHERE shippingId = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Updates the given columns of a shipment.
pub async fn update(db: &Db, id: u32, changes: &Changes) -> crate::Result<()> {
    let mut tx = db.pool().begin().await?;
    write::update(&mut tx, "Shipping", "shippingId", id, changes).await?;
    tx.commit().await?;
    Ok(())
}
