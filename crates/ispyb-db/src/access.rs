//! Which proposals and sessions a caller may see, rendered into SQL. Every query function that
//! reads proposal data takes an [`Access`], so a new route cannot forget authorization.

use sqlx::{MySql, QueryBuilder};

/// The caller's row filter, as py-ISPyB's `with_authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// `all_proposals`: no filter.
    All,
    /// Everyone else: sessions on the beamlines of their beamline groups, sessions they are on
    /// (`Session_has_Person`) and proposals they are on (`ProposalHasPerson`).
    Restricted {
        /// The caller's `Person.personId`.
        person_id: u32,
        /// Beamlines granted through beamline-group permissions.
        beamlines: Vec<String>,
    },
}

impl Access {
    /// Appends ` AND (…)` restricting rows where `proposal` is the proposal id column and
    /// `session` the (possibly outer-joined) `BLSession` alias of the query.
    ///
    /// For a caller without beamline grants, the sessions and proposals they are on are read once
    /// (by person) and probed per row. For beamline staff every branch is a lookup correlated
    /// with the row (`BLSession.beamLineName` of the row, `Session_has_Person` by its primary
    /// key, `ProposalHasPerson` by proposal or person), so a list that stops at its `LIMIT`
    /// reads only what its page needs. A list of a caller without beamline grants also wants
    /// [`Access::push_session_candidates`], which lets the query start from their sessions.
    pub fn push_filter(&self, q: &mut QueryBuilder<MySql>, proposal: &str, session: &str) {
        let Access::Restricted { person_id, beamlines } = self else { return };
        if beamlines.is_empty() {
            // The caller's own sessions and proposals are few: MariaDB reads them once per
            // statement (a materialized subquery) and probes them for each row.
            q.push(format_args!(
                " AND ({session}.sessionId IN (SELECT shp.sessionId FROM Session_has_Person shp WHERE shp.personId = "
            ));
            q.push_bind(*person_id);
            q.push(format_args!(
                ") OR {proposal} IN (SELECT php.proposalId FROM ProposalHasPerson php WHERE php.personId = "
            ));
            q.push_bind(*person_id);
            q.push("))");
            return;
        }
        q.push(format_args!(" AND ({session}.beamLineName IN ("));
        let mut sep = q.separated(", ");
        for b in beamlines {
            sep.push_bind(b.clone());
        }
        // Staff are on thousands of sessions as local contacts: checked row by row with
        // `(SELECT 1 … LIMIT 1) IS NOT NULL`, which MariaDB cannot turn into an `IN` that reads
        // all of them for each statement, as it does with `EXISTS`.
        q.push(format_args!(
            ") OR (SELECT 1 FROM Session_has_Person shp WHERE shp.sessionId = {session}.sessionId AND shp.personId = "
        ));
        q.push_bind(*person_id);
        q.push(format_args!(
            " LIMIT 1) IS NOT NULL OR (SELECT 1 FROM ProposalHasPerson php WHERE php.proposalId = {proposal} AND php.personId = "
        ));
        q.push_bind(*person_id);
        q.push(" LIMIT 1) IS NOT NULL)");
    }

    /// Whether the caller sees only what they are on (no beamline grants): few rows, best found
    /// from `Session_has_Person` and `ProposalHasPerson` by person rather than by reading a
    /// list in order and checking each row.
    pub fn is_narrow(&self) -> bool {
        matches!(self, Access::Restricted { beamlines, .. } if beamlines.is_empty())
    }

    /// For a caller who sees only what they are on, appends ` AND {session_id} IN (…)`: the
    /// sessions they are on or whose proposal they are on, found by person. It is the set
    /// [`Access::push_filter`] lets through for such a caller (for a session that is not
    /// outer-joined), written as a conjunct so that MariaDB starts from it (a semi-join) instead
    /// of reading every session in order. Nothing for other callers.
    pub fn push_session_candidates(&self, q: &mut QueryBuilder<MySql>, session_id: &str) {
        let Access::Restricted { person_id, beamlines } = self else { return };
        if !beamlines.is_empty() {
            return;
        }
        q.push(format_args!(
            " AND {session_id} IN (SELECT cand.sessionId FROM (
                SELECT cshp.sessionId FROM Session_has_Person cshp WHERE cshp.personId = "
        ));
        q.push_bind(*person_id);
        q.push(
            " UNION SELECT cs.sessionId FROM ProposalHasPerson cphp JOIN BLSession cs ON cs.proposalId = cphp.proposalId
                WHERE cphp.personId = ",
        );
        q.push_bind(*person_id);
        q.push(") cand)");
    }

    /// For a caller who sees only what they are on, appends ` AND {proposal_id} IN (…)`: the
    /// proposals they are on or have a session of, found by person (a superset of what
    /// [`Access::push_filter`] lets through, and exactly what
    /// [`Access::push_proposal_filter`] does). Nothing for other callers.
    pub fn push_proposal_candidates(&self, q: &mut QueryBuilder<MySql>, proposal_id: &str) {
        let Access::Restricted { person_id, beamlines } = self else { return };
        if !beamlines.is_empty() {
            return;
        }
        q.push(format_args!(
            " AND {proposal_id} IN (SELECT cand.proposalId FROM (
                SELECT cphp.proposalId FROM ProposalHasPerson cphp WHERE cphp.personId = "
        ));
        q.push_bind(*person_id);
        q.push(
            " UNION SELECT cs.proposalId FROM Session_has_Person cshp JOIN BLSession cs ON cs.sessionId = cshp.sessionId
                WHERE cshp.personId = ",
        );
        q.push_bind(*person_id);
        q.push(") cand)");
    }

    /// Appends ` AND (…)` restricting rows reached through a proposal only (lab contacts,
    /// shipments, dewars, containers, proteins): visible when any session of the proposal is
    /// on a granted beamline or has the caller on it, or the caller is on the proposal. The
    /// same rows py-ISPyB's outer join on `BLSession` lets through, without multiplying rows.
    ///
    /// A caller without beamline grants gets the proposals they are on as a semi-join (the query
    /// starts from those few); beamline staff get lookups correlated with the row (the proposal's
    /// sessions by `proposalId`), so a list read in order stops at its `LIMIT`.
    pub fn push_proposal_filter(&self, q: &mut QueryBuilder<MySql>, proposal: &str) {
        let Access::Restricted { person_id, beamlines } = self else { return };
        if beamlines.is_empty() {
            self.push_proposal_candidates(q, proposal);
            return;
        }
        q.push(format_args!(
            " AND ((SELECT 1 FROM ProposalHasPerson php WHERE php.proposalId = {proposal} AND php.personId = "
        ));
        q.push_bind(*person_id);
        q.push(format_args!(
            " LIMIT 1) IS NOT NULL OR (SELECT 1 FROM BLSession vs JOIN Session_has_Person shp ON shp.sessionId = vs.sessionId
                WHERE vs.proposalId = {proposal} AND shp.personId = "
        ));
        q.push_bind(*person_id);
        q.push(format_args!(
            " LIMIT 1) IS NOT NULL OR (SELECT 1 FROM BLSession bs WHERE bs.proposalId = {proposal} AND bs.beamLineName IN ("
        ));
        let mut sep = q.separated(", ");
        for b in beamlines {
            sep.push_bind(b.clone());
        }
        q.push(") LIMIT 1) IS NOT NULL)");
    }

    /// Whether the caller may see the proposal with this id (writes check it before touching
    /// anything).
    pub async fn can_see_proposal(&self, db: &crate::Db, proposal_id: u32) -> crate::Result<bool> {
        let mut q = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM Proposal p WHERE p.proposalId = ");
        q.push_bind(proposal_id);
        self.push_proposal_filter(&mut q, "p.proposalId");
        let n: i64 = q.build_query_scalar().fetch_one(db.pool()).await?;
        Ok(n > 0)
    }
}

/// How many pages past the one asked for a list counts exactly. A list reads its page and,
/// when the page is full, counts on to at most `skip + limit × (COUNT_PAGES_AHEAD + 1)` rows:
/// `total` is exact when the list ends before that bound and is the bound plus one otherwise,
/// a lower bound that grows as the caller pages on. So counting costs a few pages' worth of
/// index reads whatever the size of the facility (see docs/performance.md).
pub const COUNT_PAGES_AHEAD: u64 = 4;

/// The total when the page itself shows it: a page shorter than `limit` is the end of the list
/// (unless it is empty past the start, where the end could be anywhere before `skip`).
pub fn known_total(page: crate::Page, rows: usize) -> Option<u64> {
    let rows = rows as u64;
    (rows < page.limit && (rows > 0 || page.skip == 0)).then_some(page.skip + rows)
}

/// Starts a bounded count: `SELECT COUNT(*) FROM (SELECT 1`; append the list's ` FROM … WHERE …`
/// and finish with [`bounded_count`].
pub fn count_query() -> QueryBuilder<MySql> {
    QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1")
}

/// Closes a [`count_query`] with its bound and runs it: the exact number of matching rows when
/// there are at most `skip + limit × (COUNT_PAGES_AHEAD + 1)`, else that bound plus one.
pub async fn bounded_count(db: &crate::Db, mut q: QueryBuilder<MySql>, page: crate::Page) -> crate::Result<u64> {
    let bound = page.skip.saturating_add(page.limit.max(1).saturating_mul(COUNT_PAGES_AHEAD + 1)).saturating_add(1);
    q.push(" LIMIT ").push_bind(bound).push(") bounded");
    let n: i64 = q.build_query_scalar().fetch_one(db.pool()).await?;
    Ok(n as u64)
}

/// Indexes the list queries lean on, by table and leading columns, with what they serve. The
/// real `ispyb` schema has the first; the others it lacks, and the server does not add them:
/// `ispyb db check` prints an advice line for each one a database is missing (see
/// docs/performance.md for what each costs without it).
pub const ADVISED_INDEXES: &[(&str, &[&str], &str)] = &[
    (
        "BLSession",
        &["startDate"],
        "session lists are read in start-date order; without it every visible session is sorted for each page",
    ),
    (
        "Screening",
        &["dataCollectionId"],
        "screenings of a data collection (/processings/screenings, processing status) read every screening",
    ),
    (
        "BLSession",
        &["beamLineName", "startDate"],
        "a beamline's latest sessions (/sessions?beamLineName=, /sessions/group) without reading the beamline's whole history",
    ),
    (
        "BLSession",
        &["proposalId", "beamLineName"],
        "the beamline-staff check of each proposal (lab contacts, shipments, dewars, containers, proposals) from the index alone",
    ),
];

/// The advice lines of [`ADVISED_INDEXES`] for the indexes this database lacks (an index whose
/// leading columns are the advised ones counts; tables the database does not have are skipped).
pub async fn index_advice(db: &crate::Db) -> crate::Result<Vec<String>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR) FROM information_schema.STATISTICS
         WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    )
    .fetch_all(db.pool())
    .await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    .fetch_all(db.pool())
    .await?;
    let mut indexes: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for (table, index, column) in rows {
        indexes.entry((table, index)).or_default().push(column);
    }
    let mut advice = Vec::new();
    for (table, columns, why) in ADVISED_INDEXES {
        if !tables.iter().any(|t| t == table) {
            continue;
        }
        let covered = indexes.iter().any(|((t, _), cols)| {
            t == table
                && cols.len() >= columns.len()
                && cols.iter().zip(columns.iter()).all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        if !covered {
            advice.push(format!("{table}({}): no index; {why}", columns.join(", ")));
        }
    }
    Ok(advice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_pages_give_their_total() {
        let page = |skip, limit| crate::Page { skip, limit };
        assert_eq!(known_total(page(0, 25), 3), Some(3));
        assert_eq!(known_total(page(0, 25), 0), Some(0));
        assert_eq!(known_total(page(50, 25), 10), Some(60));
        assert_eq!(known_total(page(50, 25), 0), None, "past the end: the list may end before skip");
        assert_eq!(known_total(page(0, 25), 25), None, "a full page says nothing of what follows");
    }

    #[test]
    fn only_callers_without_beamlines_get_candidates() {
        let narrow = Access::Restricted { person_id: 7, beamlines: vec![] };
        let staff = Access::Restricted { person_id: 7, beamlines: vec!["BL01".into()] };
        for (access, expected) in [(&narrow, true), (&staff, false), (&Access::All, false)] {
            let mut q = QueryBuilder::<MySql>::new("SELECT 1 WHERE 1");
            access.push_session_candidates(&mut q, "s.sessionId");
            access.push_proposal_candidates(&mut q, "p.proposalId");
            assert_eq!(q.sql().as_str().contains(" IN (SELECT cand."), expected, "{access:?}");
        }
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 WHERE 1");
        narrow.push_proposal_filter(&mut q, "p.proposalId");
        assert!(
            q.sql().as_str().starts_with("SELECT 1 WHERE 1 AND p.proposalId IN (SELECT cand.proposalId"),
            "{}",
            q.sql().as_str()
        );
    }

    #[test]
    fn all_adds_nothing() {
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 WHERE 1");
        Access::All.push_filter(&mut q, "p.proposalId", "s");
        assert_eq!(q.sql().as_str(), "SELECT 1 WHERE 1");
    }

    #[test]
    fn restricted_ors_the_three_grants() {
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 WHERE 1");
        Access::Restricted { person_id: 7, beamlines: vec![] }.push_filter(&mut q, "p.proposalId", "s");
        let sql = q.sql().as_str().to_owned();
        assert!(
            sql.contains("s.sessionId IN (SELECT shp.sessionId FROM Session_has_Person shp WHERE shp.personId = ?)"),
            "{sql}"
        );
        assert!(
            sql.contains("p.proposalId IN (SELECT php.proposalId FROM ProposalHasPerson php WHERE php.personId = ?)"),
            "{sql}"
        );
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 WHERE 1");
        Access::Restricted { person_id: 7, beamlines: vec!["BL01".into()] }.push_filter(&mut q, "p.proposalId", "s");
        let sql = q.sql().as_str().to_owned();
        assert!(sql.contains("s.beamLineName IN (?)"), "{sql}");
        assert!(
            sql.contains(
                "Session_has_Person shp WHERE shp.sessionId = s.sessionId AND shp.personId = ? LIMIT 1) IS NOT NULL"
            ),
            "{sql}"
        );
        assert!(
            sql.contains(
                "ProposalHasPerson php WHERE php.proposalId = p.proposalId AND php.personId = ? LIMIT 1) IS NOT NULL"
            ),
            "{sql}"
        );
    }
}
