//! Lab contacts: a person of a proposal's laboratory who sends and receives dewars.

use std::collections::HashMap;

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::Table;
use crate::write::{self, Changes};
use crate::{Access, Db, Page, Paged, models};

/// A lab contact with its person and laboratory.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = LabContact)]
pub struct LabContactRow {
    /// The `LabContact` row.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub base: models::LabContact,
    /// The contact person.
    #[sqlx(skip)]
    #[serde(rename = "Person")]
    pub person: Option<ContactPerson>,
}

/// The person behind a lab contact: the contact details py-ISPyB shows, not the whole
/// `Person` row (logins and site ids stay private).
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ContactPerson {
    /// `Person.personId`.
    #[sqlx(rename = "personId")]
    #[serde(rename = "personId")]
    pub person_id: u32,
    /// Given name.
    #[sqlx(rename = "givenName")]
    #[serde(rename = "givenName")]
    pub given_name: Option<String>,
    /// Family name.
    #[sqlx(rename = "familyName")]
    #[serde(rename = "familyName")]
    pub family_name: Option<String>,
    /// E-mail address.
    #[sqlx(rename = "emailAddress")]
    #[serde(rename = "emailAddress")]
    pub email_address: Option<String>,
    /// Phone number.
    #[sqlx(rename = "phoneNumber")]
    #[serde(rename = "phoneNumber")]
    pub phone_number: Option<String>,
    /// `Person.laboratoryId`.
    #[sqlx(rename = "laboratoryId")]
    #[serde(skip)]
    pub laboratory_id: Option<u32>,
    /// The person's laboratory.
    #[sqlx(skip)]
    #[serde(rename = "Laboratory")]
    pub laboratory: Option<models::Laboratory>,
}

/// Filters of the lab-contact list.
#[derive(Debug, Clone, Default)]
pub struct LabContactFilter {
    /// One contact.
    pub lab_contact_id: Option<u32>,
    /// Proposal name.
    pub proposal: Option<String>,
    /// Proposal id.
    pub proposal_id: Option<u32>,
}

fn push_where(q: &mut QueryBuilder<MySql>, access: &Access, f: &LabContactFilter) {
    if let Some(id) = f.lab_contact_id {
        q.push(" AND lc.labContactId = ").push_bind(id);
    }
    if let Some(name) = &f.proposal {
        crate::proposals::push_name(q, "p", name);
    }
    if let Some(id) = f.proposal_id {
        q.push(" AND lc.proposalId = ").push_bind(id);
    }
    access.push_proposal_filter(q, "lc.proposalId");
}

/// The contacts, joined to their proposal only when the filter names one.
fn from(f: &LabContactFilter) -> &'static str {
    if f.proposal.is_some() {
        " FROM LabContact lc JOIN Proposal p ON p.proposalId = lc.proposalId WHERE 1"
    } else {
        " FROM LabContact lc WHERE 1"
    }
}

/// Lists visible lab contacts by id.
pub async fn list(
    db: &Db,
    access: &Access,
    filter: &LabContactFilter,
    page: Page,
) -> crate::Result<Paged<LabContactRow>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {}",
        <models::LabContact as Table>::meta().select("lc", db.flavour())
    ));
    q.push(from(filter));
    push_where(&mut q, access, filter);
    q.push(" ORDER BY lc.labContactId LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let mut rows: Vec<LabContactRow> = q.build_query_as().fetch_all(db.pool()).await?;
    attach_persons(db, &mut rows).await?;
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

/// One visible lab contact.
pub async fn find(db: &Db, access: &Access, id: u32) -> crate::Result<Option<LabContactRow>> {
    let filter = LabContactFilter { lab_contact_id: Some(id), ..Default::default() };
    Ok(list(db, access, &filter, Page { skip: 0, limit: 1 }).await?.results.pop())
}

/// Lab contacts by id, without an access check (the caller already checked the parent).
pub async fn by_ids(db: &Db, ids: &[u32]) -> crate::Result<HashMap<u32, LabContactRow>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM LabContact lc WHERE lc.labContactId IN (",
        <models::LabContact as Table>::meta().select("lc", db.flavour())
    ));
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    q.push(")");
    let mut rows: Vec<LabContactRow> = q.build_query_as().fetch_all(db.pool()).await?;
    attach_persons(db, &mut rows).await?;
    Ok(rows.into_iter().map(|r| (r.base.lab_contact_id, r)).collect())
}

/// Loads the persons and laboratories of a page: two statements whatever its size.
async fn attach_persons(db: &Db, rows: &mut [LabContactRow]) -> crate::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT personId, givenName, familyName, emailAddress, phoneNumber, laboratoryId FROM Person WHERE personId IN (",
    );
    let mut sep = q.separated(", ");
    for r in rows.iter() {
        sep.push_bind(r.base.person_id);
    }
    q.push(")");
    let persons: Vec<ContactPerson> = q.build_query_as().fetch_all(db.pool()).await?;
    let lab_ids: Vec<u32> = persons.iter().filter_map(|p| p.laboratory_id).collect();
    let mut labs: HashMap<u32, models::Laboratory> = HashMap::new();
    if !lab_ids.is_empty() {
        let mut q = QueryBuilder::<MySql>::new(format!(
            "SELECT {} FROM Laboratory l WHERE l.laboratoryId IN (",
            <models::Laboratory as Table>::meta().select("l", db.flavour())
        ));
        let mut sep = q.separated(", ");
        for id in &lab_ids {
            sep.push_bind(*id);
        }
        q.push(")");
        let found: Vec<models::Laboratory> = q.build_query_as().fetch_all(db.pool()).await?;
        labs = found.into_iter().map(|l| (l.laboratory_id, l)).collect();
    }
    let mut persons: HashMap<u32, ContactPerson> = persons.into_iter().map(|p| (p.person_id, p)).collect();
    for p in persons.values_mut() {
        p.laboratory = p.laboratory_id.and_then(|id| labs.get(&id).cloned());
    }
    for r in rows {
        r.person = persons.get(&r.base.person_id).cloned();
    }
    Ok(())
}

/// Creates a laboratory (optional), a person and the contact in one transaction; returns the
/// contact's id. Nothing is left behind when any step fails.
pub async fn create(db: &Db, laboratory: Option<&Changes>, person: &Changes, contact: &Changes) -> crate::Result<u32> {
    let mut tx = db.pool().begin().await?;
    let mut person = Changes(person.0.clone());
    if let Some(lab) = laboratory {
        let lab_id = write::insert(&mut tx, "Laboratory", lab).await?;
        person.set("laboratoryId", lab_id);
    }
    let person_id = write::insert(&mut tx, "Person", &person).await?;
    let mut contact = Changes(contact.0.clone());
    contact.set("personId", person_id);
    let id = write::insert(&mut tx, "LabContact", &contact).await?;
    tx.commit().await?;
    Ok(id)
}

/// Updates a contact, its person and laboratory (created when the person has none) in one
/// transaction.
pub async fn update(
    db: &Db,
    id: u32,
    laboratory: Option<&Changes>,
    person: &Changes,
    contact: &Changes,
) -> crate::Result<()> {
    let mut tx = db.pool().begin().await?;
    let (person_id, lab_id): (u32, Option<u32>) = sqlx::query_as(
        "SELECT p.personId, p.laboratoryId FROM LabContact lc JOIN Person p ON p.personId = lc.personId WHERE lc.labContactId = ? FOR UPDATE",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let mut person = Changes(person.0.clone());
    if let Some(lab) = laboratory {
        match lab_id {
            Some(lab_id) => write::update(&mut tx, "Laboratory", "laboratoryId", lab_id, lab).await?,
            None => {
                let new_lab = write::insert(&mut tx, "Laboratory", lab).await?;
                person.set("laboratoryId", new_lab);
            }
        }
    }
    write::update(&mut tx, "Person", "personId", person_id, &person).await?;
    write::update(&mut tx, "LabContact", "labContactId", id, contact).await?;
    tx.commit().await?;
    Ok(())
}
