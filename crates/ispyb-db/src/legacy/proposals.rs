//! Proposals as Java lists them (six `Proposal_*` keys) and Java's `info/get` bundle (the
//! proposal, its proteins, crystals and lab contacts as Gson dumps of Java's value objects).

use serde_json::{Value, json};
use sqlx::{MySql, QueryBuilder};

use super::{DateStyle, JsonRow, LegacyAccess, fetch_json};
use crate::meta::Table;
use crate::{Db, models};

const LIST: &str = "SELECT p.proposalId AS Proposal_proposalId, p.proposalType AS Proposal_proposalType, \
    p.personId AS Proposal_personId, p.title AS Proposal_title, p.proposalCode AS Proposal_proposalCode, \
    p.proposalNumber AS Proposal_proposalNumber FROM Proposal p WHERE 1";

/// Proposals the caller may see, oldest first.
pub async fn list(db: &Db, access: &LegacyAccess) -> crate::Result<Vec<JsonRow>> {
    let mut q = QueryBuilder::<MySql>::new(LIST);
    access.push_proposal_filter(&mut q, "p.proposalId");
    q.push(" ORDER BY p.proposalId");
    fetch_json(db, q, DateStyle::Iso).await
}

/// The proposal of a session, if the caller may see that session.
pub async fn of_session(db: &Db, access: &LegacyAccess, session_id: u32) -> crate::Result<Vec<JsonRow>> {
    let mut q = QueryBuilder::<MySql>::new(LIST);
    q.push(" AND p.proposalId IN (SELECT s.proposalId FROM BLSession s WHERE s.sessionId = ");
    q.push_bind(session_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(")");
    fetch_json(db, q, DateStyle::Iso).await
}

/// The `Proposal` row (py-ISPyB's `/legacy/proposals/{id}` answer); the caller has been
/// checked.
pub async fn row(db: &Db, proposal_id: u32) -> crate::Result<Option<models::Proposal>> {
    let sql = format!(
        "SELECT {} FROM Proposal p WHERE p.proposalId = ?",
        <models::Proposal as Table>::meta().select("p", db.flavour())
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(proposal_id).fetch_optional(db.pool()).await?)
}

/// Java's `info/get` for a proposal the caller may see: an array with one object holding the
/// proposal, its proteins, crystals and lab contacts with the field names of Java's value
/// objects (`Proposal3VO`, `Protein3VO`, `Crystal3VO`, `LabContact3VO`), and the BioSAXS lists
/// (`plateTypes`, `macromolecules`, `buffers`, `stockSolutions`, `ligands`) empty.
pub async fn info(db: &Db, proposal_id: u32, dates: DateStyle) -> crate::Result<Value> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT p.proposalId, p.title, p.proposalCode AS code, p.proposalNumber AS number, p.proposalType AS type, \
         NULL AS externalId, p.bltimeStamp AS timeStamp FROM Proposal p WHERE p.proposalId = ",
    );
    q.push_bind(proposal_id);
    let proposal = fetch_json(db, q, dates).await?;

    let protein_cols = "pr.proteinId, pr.name, pr.acronym, pr.safetyLevel, pr.molecularMass, pr.proteinType, \
        pr.sequence, pr.personId, pr.bltimeStamp AS timeStamp, pr.isCreatedBySampleSheet, NULL AS externalId";
    let mut q = QueryBuilder::<MySql>::new(format!("SELECT {protein_cols} FROM Protein pr WHERE pr.proposalId = "));
    q.push_bind(proposal_id).push(" ORDER BY pr.proteinId");
    let proteins = fetch_json(db, q, dates).await?;

    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT cr.crystalId, cr.diffractionPlanId, cr.name AS crystalName, cr.spaceGroup, cr.morphology, cr.color, \
         cr.size_X AS sizeX, cr.size_Y AS sizeY, cr.size_Z AS sizeZ, cr.cell_a AS cellA, cr.cell_b AS cellB, \
         cr.cell_c AS cellC, cr.cell_alpha AS cellAlpha, cr.cell_beta AS cellBeta, cr.cell_gamma AS cellGamma, \
         cr.comments AS crystalComments, cr.pdbFileName, cr.pdbFilePath, {protein_cols} \
         FROM Crystal cr JOIN Protein pr ON pr.proteinId = cr.proteinId WHERE pr.proposalId = "
    ));
    q.push_bind(proposal_id).push(" ORDER BY cr.crystalId");
    let crystals: Vec<Value> = fetch_json(db, q, dates)
        .await?
        .into_iter()
        .map(|mut r| {
            let take = |r: &mut JsonRow, k: &str| r.remove(k).unwrap_or(Value::Null);
            let plan = take(&mut r, "diffractionPlanId");
            let mut crystal = JsonRow::new();
            crystal.insert("crystalId".into(), take(&mut r, "crystalId"));
            crystal.insert(
                "diffractionPlanVO".into(),
                if plan.is_null() { Value::Null } else { json!({ "diffractionPlanId": plan }) },
            );
            crystal.insert("name".into(), take(&mut r, "crystalName"));
            for k in ["spaceGroup", "morphology", "color", "sizeX", "sizeY", "sizeZ", "cellA", "cellB", "cellC"] {
                crystal.insert(k.into(), take(&mut r, k));
            }
            for k in ["cellAlpha", "cellBeta", "cellGamma"] {
                crystal.insert(k.into(), take(&mut r, k));
            }
            crystal.insert("comments".into(), take(&mut r, "crystalComments"));
            crystal.insert("pdbFileName".into(), take(&mut r, "pdbFileName"));
            crystal.insert("pdbFilePath".into(), take(&mut r, "pdbFilePath"));
            crystal.insert("structure3VOs".into(), json!([]));
            // What is left is the protein.
            crystal.insert("proteinVO".into(), Value::Object(r));
            Value::Object(crystal)
        })
        .collect();

    let labcontacts = lab_contacts(db, proposal_id, dates).await?;

    Ok(json!([{
        "proposal": proposal,
        "crystals": crystals,
        "proteins": proteins,
        "labcontacts": labcontacts,
        "plateTypes": [],
        "macromolecules": [],
        "buffers": [],
        "stockSolutions": [],
        "ligands": [],
    }]))
}

/// The lab contacts of a proposal as Java's `LabContact3VO` (with `personVO` and its
/// `laboratoryVO`; never the person's login or password).
pub async fn lab_contacts(db: &Db, proposal_id: u32, dates: DateStyle) -> crate::Result<Vec<Value>> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT lc.labContactId, lc.cardName, lc.defaultCourrierCompany, lc.courierAccount, lc.billingReference, \
         lc.dewarAvgCustomsValue, lc.dewarAvgTransportValue, pe.personId, pe.familyName, pe.givenName, pe.title, \
         pe.emailAddress, pe.phoneNumber, pe.faxNumber, la.laboratoryId, la.name AS laboratoryName, la.address, \
         la.city, la.country, la.url, la.organization \
         FROM LabContact lc LEFT JOIN Person pe ON pe.personId = lc.personId \
         LEFT JOIN Laboratory la ON la.laboratoryId = pe.laboratoryId WHERE lc.proposalId = ",
    );
    q.push_bind(proposal_id).push(" ORDER BY lc.labContactId");
    Ok(fetch_json(db, q, dates)
        .await?
        .into_iter()
        .map(|mut r| {
            let take = |r: &mut JsonRow, k: &str| r.remove(k).unwrap_or(Value::Null);
            let mut lab = JsonRow::new();
            lab.insert("laboratoryId".into(), take(&mut r, "laboratoryId"));
            lab.insert("name".into(), take(&mut r, "laboratoryName"));
            for k in ["address", "city", "country", "url", "organization"] {
                lab.insert(k.into(), take(&mut r, k));
            }
            let mut person = JsonRow::new();
            for k in ["personId", "familyName", "givenName", "title", "emailAddress", "phoneNumber", "faxNumber"] {
                person.insert(k.into(), take(&mut r, k));
            }
            let lab = if lab["laboratoryId"].is_null() { Value::Null } else { Value::Object(lab) };
            person.insert("laboratoryVO".into(), lab);
            r.insert("personVO".into(), Value::Object(person));
            Value::Object(r)
        })
        .collect())
}
