//! Shipping, dewar, container and sample lists with Java's keys: Java's `SqlTableMapper`
//! columns for shipments (one row per container), `v_dewar_summary` for dewars and
//! `v_mx_sample` for samples, as table joins. Every row belongs to a proposal the caller may
//! see, read through the proposal in the path.

use sqlx::{MySql, QueryBuilder};

use super::{DateStyle, JsonRow, LegacyAccess, Select, fetch_json};
use crate::meta::{Flavour, Table};
use crate::sql::push_ids;
use crate::{Db, models};

const SHIPPING: &[&str] = &[
    "shippingId",
    "proposalId",
    "shippingName",
    "deliveryAgent_agentName",
    "deliveryAgent_shippingDate",
    "deliveryAgent_deliveryDate",
    "deliveryAgent_agentCode",
    "deliveryAgent_flightCode",
    "shippingStatus",
    "bltimeStamp",
    "laboratoryId",
    "isStorageShipping",
    "creationDate",
    "comments",
    "sendingLabContactId",
    "returnLabContactId",
    "returnCourier",
    "dateOfShippingToUser",
    "shippingType",
];

const DEWAR: &[&str] = &[
    "dewarId",
    "shippingId",
    "code",
    "comments",
    "storageLocation",
    "dewarStatus",
    "bltimeStamp",
    "isStorageDewar",
    "barCode",
    "firstExperimentId",
    "customsValue",
    "transportValue",
    "trackingNumberToSynchrotron",
    "trackingNumberFromSynchrotron",
    "isReimbursed",
    "type",
];

const CONTAINER: &[&str] = &[
    "containerId",
    "dewarId",
    "code",
    "containerType",
    "capacity",
    "beamlineLocation",
    "sampleChangerLocation",
    "containerStatus",
    "bltimeStamp",
];

/// Java's shipment rows of a proposal: shipment, dewar and container (`Shipping_*`,
/// `Dewar_*`, `Container_*`), one row per container (a dewar without containers, a shipment
/// without dewars: one row with nulls), with the container's `sampleCount` and the dewar's
/// `stockSolutionCount`. `shipping_id` restricts to one shipment.
pub async fn shipments(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    shipping_id: Option<u32>,
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    let flavour = db.flavour();
    let mut s = Select::new(flavour);
    s.prefixed(<models::Shipping as Table>::meta(), "sh", "Shipping", SHIPPING);
    s.expr("(SELECT COUNT(*) FROM BLSample smp WHERE smp.containerId = c.containerId)", "sampleCount");
    s.prefixed(<models::Container as Table>::meta(), "c", "Container", CONTAINER);
    // `StockSolution` (BioSAXS) exists only in the ispyb flavour.
    s.expr(
        if flavour == Flavour::Ispyb {
            "(SELECT COUNT(*) FROM StockSolution ss WHERE ss.boxId = d.dewarId)"
        } else {
            "0"
        },
        "stockSolutionCount",
    );
    s.prefixed(<models::Dewar as Table>::meta(), "d", "Dewar", DEWAR);
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM Shipping sh LEFT JOIN Dewar d ON d.shippingId = sh.shippingId \
         LEFT JOIN Container c ON c.dewarId = d.dewarId WHERE sh.proposalId = ",
        s.sql()
    ));
    q.push_bind(proposal_id);
    if let Some(id) = shipping_id {
        q.push(" AND sh.shippingId = ").push_bind(id);
    }
    access.push_proposal_filter(&mut q, "sh.proposalId");
    q.push(" ORDER BY sh.shippingId DESC, d.dewarId, c.containerId");
    fetch_json(db, q, dates).await
}

/// `v_dewar_summary` rows of a proposal (one per container, with the first session the
/// shipment is for) plus the container's `sampleCount`; `session_id` keeps the dewars of
/// shipments for that session.
pub async fn dewars(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    session_id: Option<u32>,
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    let flavour = db.flavour();
    let mut s = Select::new(flavour);
    let sh = <models::Shipping as Table>::meta();
    s.same(
        sh,
        "sh",
        &[
            "shippingName",
            "deliveryAgent_agentName",
            "deliveryAgent_shippingDate",
            "deliveryAgent_deliveryDate",
            "deliveryAgent_agentCode",
            "deliveryAgent_flightCode",
            "shippingStatus",
            "bltimeStamp",
            "laboratoryId",
            "isStorageShipping",
            "creationDate",
        ],
    );
    s.cols(sh, "sh", &[("comments", "Shipping_comments")]);
    s.same(
        sh,
        "sh",
        &["sendingLabContactId", "returnLabContactId", "returnCourier", "dateOfShippingToUser", "shippingType"],
    );
    let d = <models::Dewar as Table>::meta();
    s.same(d, "d", &["dewarId", "shippingId"]);
    s.cols(d, "d", &[("code", "dewarCode")]);
    s.same(
        d,
        "d",
        &[
            "comments",
            "storageLocation",
            "dewarStatus",
            "isStorageDewar",
            "barCode",
            "firstExperimentId",
            "customsValue",
            "transportValue",
            "trackingNumberToSynchrotron",
            "trackingNumberFromSynchrotron",
            "type",
            "isReimbursed",
        ],
    );
    s.cols(
        <models::BlSession as Table>::meta(),
        "s",
        &[
            ("sessionId", "sessionId"),
            ("beamLineName", "beamlineName"),
            ("startDate", "sessionStartDate"),
            ("endDate", "sessionEndDate"),
            ("beamLineOperator", "beamLineOperator"),
            ("nbReimbDewars", "nbReimbDewars"),
        ],
    );
    s.expr("sh.proposalId", "proposalId");
    let c = <models::Container as Table>::meta();
    s.same(
        c,
        "c",
        &["containerId", "containerType", "capacity", "beamlineLocation", "sampleChangerLocation", "containerStatus"],
    );
    s.cols(c, "c", &[("code", "containerCode")]);
    s.expr("(SELECT COUNT(*) FROM BLSample smp WHERE smp.containerId = c.containerId)", "sampleCount");
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM Dewar d JOIN Shipping sh ON sh.shippingId = d.shippingId \
         LEFT JOIN Container c ON c.dewarId = d.dewarId \
         LEFT JOIN BLSession s ON s.sessionId = (SELECT MIN(shs.sessionId) FROM ShippingHasSession shs WHERE shs.shippingId = sh.shippingId) \
         WHERE sh.proposalId = ",
        s.sql()
    ));
    q.push_bind(proposal_id);
    if let Some(id) = session_id {
        q.push(" AND sh.shippingId IN (SELECT shs.shippingId FROM ShippingHasSession shs WHERE shs.sessionId = ");
        q.push_bind(id).push(")");
    }
    access.push_proposal_filter(&mut q, "sh.proposalId");
    q.push(" ORDER BY d.dewarId DESC, c.containerId");
    fetch_json(db, q, dates).await
}

/// Which samples.
#[derive(Debug, Clone)]
pub enum SamplesOf {
    /// Every sample of the proposal.
    Proposal,
    /// Of these containers.
    Containers(Vec<u32>),
    /// Of these dewars.
    Dewars(Vec<u32>),
    /// Of these shipments.
    Shipments(Vec<u32>),
    /// Collected in these sessions.
    Sessions(Vec<u32>),
}

/// `v_mx_sample` rows of a proposal's samples (a sample belongs to its crystal's protein's
/// proposal), one per sample: the session keys come from the sample's latest data collection
/// group (Java repeated the sample for each group), whose id is
/// `DataCollectionGroup_dataCollectionGroupId`.
pub async fn samples(
    db: &Db,
    access: &LegacyAccess,
    proposal_id: u32,
    of: &SamplesOf,
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    let flavour = db.flavour();
    let mut s = Select::new(flavour);
    s.prefixed(
        <models::BlSample as Table>::meta(),
        "smp",
        "BLSample",
        &[
            "blSampleId",
            "diffractionPlanId",
            "crystalId",
            "containerId",
            "name",
            "code",
            "location",
            "holderLength",
            "loopLength",
            "loopType",
            "wireWidth",
            "comments",
            "completionStage",
            "structureStage",
            "publicationStage",
            "publicationComments",
            "blSampleStatus",
            "isInSampleChanger",
            "lastKnownCenteringPosition",
            "recordTimeStamp",
            "SMILES",
        ],
    );
    s.prefixed(
        <models::Protein as Table>::meta(),
        "pr",
        "Protein",
        &["proteinId", "name", "acronym", "proteinType", "proposalId"],
    );
    s.prefixed(
        <models::Person as Table>::meta(),
        "pe",
        "Person",
        &["personId", "familyName", "givenName", "emailAddress"],
    );
    s.prefixed(
        <models::Container as Table>::meta(),
        "c",
        "Container",
        &["containerId", "code", "containerType", "containerStatus", "beamlineLocation", "sampleChangerLocation"],
    );
    s.prefixed(
        <models::Dewar as Table>::meta(),
        "d",
        "Dewar",
        &["code", "dewarId", "storageLocation", "dewarStatus", "barCode"],
    );
    s.prefixed(<models::Shipping as Table>::meta(), "sh", "Shipping", &["shippingId"]);
    s.cols(
        <models::BlSession as Table>::meta(),
        "s",
        &[("sessionId", "sessionId"), ("startDate", "BLSession_startDate"), ("beamLineName", "BLSession_beamLineName")],
    );
    s.expr("g.dataCollectionGroupId", "DataCollectionGroup_dataCollectionGroupId");
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM BLSample smp JOIN Crystal cr ON cr.crystalId = smp.crystalId JOIN Protein pr ON pr.proteinId = cr.proteinId \
         LEFT JOIN Person pe ON pe.personId = pr.personId LEFT JOIN Container c ON c.containerId = smp.containerId \
         LEFT JOIN Dewar d ON d.dewarId = c.dewarId LEFT JOIN Shipping sh ON sh.shippingId = d.shippingId \
         LEFT JOIN DataCollectionGroup g ON g.dataCollectionGroupId = (SELECT MAX(g2.dataCollectionGroupId) FROM DataCollectionGroup g2 WHERE g2.blSampleId = smp.blSampleId) \
         LEFT JOIN BLSession s ON s.sessionId = g.sessionId WHERE pr.proposalId = ",
        s.sql()
    ));
    q.push_bind(proposal_id);
    let (column, ids) = match of {
        SamplesOf::Proposal => ("", &[][..]),
        SamplesOf::Containers(ids) => ("smp.containerId", ids.as_slice()),
        SamplesOf::Dewars(ids) => ("c.dewarId", ids.as_slice()),
        SamplesOf::Shipments(ids) => ("d.shippingId", ids.as_slice()),
        SamplesOf::Sessions(ids) => ("", ids.as_slice()),
    };
    if !matches!(of, SamplesOf::Proposal) {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if let SamplesOf::Sessions(_) = of {
            q.push(" AND smp.blSampleId IN (SELECT g3.blSampleId FROM DataCollectionGroup g3 WHERE g3.sessionId IN (");
            push_ids(&mut q, ids);
            q.push("))");
        } else {
            q.push(format_args!(" AND {column} IN ("));
            push_ids(&mut q, ids);
            q.push(")");
        }
    }
    access.push_proposal_filter(&mut q, "pr.proposalId");
    q.push(" ORDER BY smp.blSampleId");
    fetch_json(db, q, dates).await
}
