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
    /// Each branch is an indexed lookup: `BLSession.beamLineName`, `Session_has_Person` by
    /// person and `ProposalHasPerson` by person.
    pub fn push_filter(&self, q: &mut QueryBuilder<MySql>, proposal: &str, session: &str) {
        let Access::Restricted { person_id, beamlines } = self else { return };
        q.push(" AND (");
        if !beamlines.is_empty() {
            q.push(format_args!("{session}.beamLineName IN ("));
            let mut sep = q.separated(", ");
            for b in beamlines {
                sep.push_bind(b.clone());
            }
            q.push(") OR ");
        }
        q.push(format_args!(
            "{session}.sessionId IN (SELECT shp.sessionId FROM Session_has_Person shp WHERE shp.personId = "
        ));
        q.push_bind(*person_id);
        q.push(format_args!(
            ") OR {proposal} IN (SELECT php.proposalId FROM ProposalHasPerson php WHERE php.personId = "
        ));
        q.push_bind(*person_id);
        q.push("))");
    }
}

impl Access {
    /// Appends ` AND (…)` restricting rows reached through a proposal only (lab contacts,
    /// shipments, dewars, containers, proteins): visible when any session of the proposal is
    /// on a granted beamline or has the caller on it, or the caller is on the proposal. The
    /// same rows py-ISPyB's outer join on `BLSession` lets through, without multiplying rows.
    pub fn push_proposal_filter(&self, q: &mut QueryBuilder<MySql>, proposal: &str) {
        let Access::Restricted { person_id, beamlines } = self else { return };
        q.push(format_args!(
            " AND ({proposal} IN (SELECT php.proposalId FROM ProposalHasPerson php WHERE php.personId = "
        ));
        q.push_bind(*person_id);
        q.push(format_args!(
            ") OR {proposal} IN (SELECT vs.proposalId FROM Session_has_Person shp JOIN BLSession vs ON vs.sessionId = shp.sessionId WHERE shp.personId = "
        ));
        q.push_bind(*person_id);
        q.push(")");
        if !beamlines.is_empty() {
            q.push(format_args!(
                " OR {proposal} IN (SELECT bs.proposalId FROM BLSession bs WHERE bs.beamLineName IN ("
            ));
            let mut sep = q.separated(", ");
            for b in beamlines {
                sep.push_bind(b.clone());
            }
            q.push("))");
        }
        q.push(")");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_adds_nothing() {
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 WHERE 1");
        Access::All.push_filter(&mut q, "p.proposalId", "s");
        assert_eq!(q.sql().as_str(), "SELECT 1 WHERE 1");
    }

    #[test]
    fn restricted_ors_the_three_grants() {
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 WHERE 1");
        Access::Restricted { person_id: 7, beamlines: vec!["BL01".into()] }.push_filter(&mut q, "p.proposalId", "s");
        let sql = q.sql().as_str().to_owned();
        assert!(sql.contains("s.beamLineName IN (?)"), "{sql}");
        assert!(sql.contains("Session_has_Person shp WHERE shp.personId = ?"), "{sql}");
        assert!(sql.contains("p.proposalId IN (SELECT php.proposalId FROM ProposalHasPerson"), "{sql}");
    }
}
