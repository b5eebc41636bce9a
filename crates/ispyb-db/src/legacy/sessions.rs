//! Java's session query (`session/getViewTableQuery.sql`, py-ISPyB's `sessionsInfos*.sql`):
//! every column of `v_session` under its aliases plus 13 counts, as a join of `BLSession`,
//! `Proposal` and the proposal's owner.

use chrono::NaiveDate;
use sqlx::{MySql, QueryBuilder};

use super::{DateStyle, JsonRow, LegacyAccess, Select, fetch_json};
use crate::meta::{Flavour, Table};
use crate::{Db, models};

/// Which sessions.
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    /// Of this proposal.
    pub proposal_id: Option<u32>,
    /// This session.
    pub session_id: Option<u32>,
    /// Overlapping `[from, to]` (both days included).
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// Whose `beamLineOperator` contains this text (literally, without case).
    pub operator: Option<String>,
    /// Newest first (Java); oldest first otherwise (py-ISPyB's list order).
    pub newest_first: bool,
}

fn select(flavour: Flavour) -> String {
    let mut s = Select::new(flavour);
    s.cols(
        <models::BlSession as Table>::meta(),
        "s",
        &[
            ("sessionId", "sessionId"),
            ("expSessionPk", "expSessionPk"),
            ("beamLineSetupId", "beamLineSetupId"),
            ("proposalId", "proposalId"),
            ("projectCode", "projectCode"),
            ("startDate", "BLSession_startDate"),
            ("endDate", "BLSession_endDate"),
            ("beamLineName", "beamLineName"),
            ("scheduled", "scheduled"),
            ("nbShifts", "nbShifts"),
            ("comments", "comments"),
            ("beamLineOperator", "beamLineOperator"),
            ("visit_number", "visit_number"),
            ("bltimeStamp", "bltimeStamp"),
            ("usedFlag", "usedFlag"),
            ("sessionTitle", "sessionTitle"),
            ("structureDeterminations", "structureDeterminations"),
            ("dewarTransport", "dewarTransport"),
            ("databackupFrance", "databackupFrance"),
            ("databackupEurope", "databackupEurope"),
            ("operatorSiteNumber", "operatorSiteNumber"),
            ("lastUpdate", "BLSession_lastUpdate"),
            ("protectedData", "BLSession_protectedData"),
        ],
    );
    s.cols(
        <models::Proposal as Table>::meta(),
        "p",
        &[
            ("title", "Proposal_title"),
            ("proposalCode", "Proposal_proposalCode"),
            ("proposalNumber", "Proposal_ProposalNumber"),
            ("proposalType", "Proposal_ProposalType"),
        ],
    );
    s.prefixed(
        <models::Person as Table>::meta(),
        "pe",
        "Person",
        &["personId", "familyName", "givenName", "emailAddress"],
    );
    let dc = "FROM DataCollectionGroup g JOIN DataCollection dc ON dc.dataCollectionGroupId = g.dataCollectionGroupId \
              WHERE g.sessionId = s.sessionId";
    s.expr("(SELECT COUNT(*) FROM EnergyScan es WHERE es.sessionId = s.sessionId)", "energyScanCount")
        .expr(
            "(SELECT COUNT(DISTINCT g.blSampleId) FROM DataCollectionGroup g WHERE g.sessionId = s.sessionId)",
            "sampleCount",
        )
        .expr(&format!("(SELECT SUM(dc.numberOfImages) {dc})"), "imagesCount")
        .expr(&format!("(SELECT COUNT(*) {dc} AND dc.numberOfImages < 5)"), "testDataCollectionGroupCount")
        .expr(&format!("(SELECT COUNT(*) {dc} AND dc.numberOfImages > 4)"), "dataCollectionGroupCount")
        .expr(&format!("(SELECT COUNT(*) {dc} AND g.experimentType = 'EM')"), "EMdataCollectionGroupCount")
        .expr("(SELECT COUNT(*) FROM XFEFluorescenceSpectrum x WHERE x.sessionId = s.sessionId)", "xrfSpectrumCount");
    // `Experiment` (BioSAXS) exists only in the ispyb flavour.
    for (kind, key) in [("HPLC", "hplcCount"), ("STATIC", "sampleChangerCount"), ("CALIBRATION", "calibrationCount")] {
        if flavour == Flavour::Ispyb {
            s.expr(
                &format!(
                    "(SELECT COUNT(*) FROM Experiment ex WHERE ex.sessionId = s.sessionId AND ex.experimentType = '{kind}')"
                ),
                key,
            );
        } else {
            s.expr("0", key);
        }
    }
    let last =
        "FROM DataCollectionGroup g WHERE g.sessionId = s.sessionId ORDER BY g.dataCollectionGroupId DESC LIMIT 1";
    s.expr(&format!("(SELECT g.experimentType {last})"), "lastExperimentDataCollectionGroup")
        .expr(&format!("(SELECT g.endTime {last})"), "lastEndTimeDataCollectionGroup");
    s.sql()
}

/// Sessions the caller may see, with Java's keys.
pub async fn list(
    db: &Db,
    access: &LegacyAccess,
    query: &SessionQuery,
    dates: DateStyle,
) -> crate::Result<Vec<JsonRow>> {
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT {} FROM BLSession s LEFT JOIN Proposal p ON p.proposalId = s.proposalId \
         LEFT JOIN Person pe ON pe.personId = p.personId WHERE 1",
        select(db.flavour())
    ));
    if let Some(id) = query.proposal_id {
        q.push(" AND s.proposalId = ").push_bind(id);
    }
    if let Some(id) = query.session_id {
        q.push(" AND s.sessionId = ").push_bind(id);
    }
    if let Some((from, to)) = query.dates {
        // Overlap: starts before the end of the last day and ends on or after the first day.
        let end = to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0);
        q.push(" AND s.startDate < ").push_bind(end).push(" AND s.endDate >= ").push_bind(from.and_hms_opt(0, 0, 0));
    }
    if let Some(op) = &query.operator {
        q.push(" AND s.beamLineOperator LIKE ").push_bind(format!("%{}%", crate::proposals::escape_like(op)));
    }
    access.push_session_filter(&mut q, "s.proposalId", "s");
    q.push(if query.newest_first { " ORDER BY s.sessionId DESC" } else { " ORDER BY s.sessionId" });
    fetch_json(db, q, dates).await
}
