//! Persons as `/persons` lists them: names only (contact details stay with lab contacts).

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::types::DateTime;
use crate::{Access, Db, Page, Paged};

/// A person: id and names.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Person)]
pub struct PersonRow {
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
    /// About the person's part in a session (with `sessionId` only).
    #[sqlx(flatten)]
    #[serde(rename = "_metadata")]
    pub metadata: PersonMetadata,
}

/// A person's part in sessions.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct PersonMetadata {
    /// Number of sessions the person is on.
    pub sessions: Option<i64>,
    /// Start of the person's latest session.
    #[sqlx(rename = "lastSession")]
    #[serde(rename = "lastSession")]
    #[schema(value_type = Option<String>)]
    pub last_session: DateTime,
    /// Role on the session.
    pub role: Option<String>,
    /// Whether they take part remotely.
    pub remote: Option<bool>,
}

/// Filters of the person list.
#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// Persons on this session (with their role).
    pub session_id: Option<u32>,
    /// Persons of this proposal (on it, on one of its sessions, or one of its lab contacts).
    pub proposal: Option<String>,
    /// Everyone with a login (callers with `manage_persons` only).
    pub show_all: bool,
}

/// Lists persons the caller may see: those of proposals and sessions the caller may see.
///
/// With `session_id`, each person's `lastSession` is the latest start of their sessions: for a
/// person on more than a thousand sessions (a local contact) it is found by reading sessions
/// from the newest until one has them, since such a person is on the recent ones; for others
/// by joining their few sessions. Either way the same value, without joining thousands of
/// sessions for each page.
pub async fn list(db: &Db, access: &Access, filter: &PersonFilter, page: Page) -> crate::Result<Paged<PersonRow>> {
    let (select, from) = match filter.session_id {
        Some(_) => (
            "SELECT pe.personId, pe.givenName, pe.familyName,
               (SELECT COUNT(*) FROM Session_has_Person x WHERE x.personId = pe.personId) AS sessions,
               IF((SELECT COUNT(*) FROM Session_has_Person x WHERE x.personId = pe.personId) > 1000,
                  (SELECT xs.startDate FROM BLSession xs
                    WHERE (SELECT 1 FROM Session_has_Person y WHERE y.sessionId = xs.sessionId AND y.personId = pe.personId LIMIT 1) IS NOT NULL
                    ORDER BY xs.startDate DESC LIMIT 1),
                  (SELECT MAX(xs.startDate) FROM Session_has_Person x JOIN BLSession xs ON xs.sessionId = x.sessionId WHERE x.personId = pe.personId)) AS lastSession,
               shp.role AS role, shp.remote AS remote",
            " FROM Person pe JOIN Session_has_Person shp ON shp.personId = pe.personId
              JOIN BLSession s ON s.sessionId = shp.sessionId JOIN Proposal p ON p.proposalId = s.proposalId WHERE pe.login IS NOT NULL",
        ),
        None => (
            "SELECT pe.personId, pe.givenName, pe.familyName, NULL AS sessions, NULL AS lastSession, NULL AS role, NULL AS remote",
            " FROM Person pe WHERE pe.login IS NOT NULL",
        ),
    };
    // A proposal filter or a caller who sees only what they are on make the reachable persons
    // few: they are gathered once (a derived table MariaDB materializes and starts from).
    // Otherwise persons are read in order and each is checked with index lookups, so the
    // page stops at its `LIMIT`.
    let few = filter.proposal.is_some() || access.is_narrow();
    let push_where = |q: &mut QueryBuilder<MySql>| {
        if let Some(id) = filter.session_id {
            q.push(" AND s.sessionId = ").push_bind(id);
            access.push_filter(q, "p.proposalId", "s");
        } else if !filter.show_all || filter.proposal.is_some() {
            // People reachable through proposals: on the proposal, on one of its sessions, or
            // one of its lab contacts.
            q.push(if few { " AND pe.personId IN (SELECT reach.personId FROM (" } else { " AND pe.personId IN (" });
            push_branch(q, filter, access, "SELECT php.personId FROM ProposalHasPerson php", "php.proposalId");
            q.push(" UNION ");
            push_branch(q, filter, access, "SELECT lc.personId FROM LabContact lc", "lc.proposalId");
            q.push(" UNION ");
            push_branch(
                q,
                filter,
                access,
                "SELECT x.personId FROM Session_has_Person x JOIN BLSession xs ON xs.sessionId = x.sessionId",
                "xs.proposalId",
            );
            q.push(if few { ") reach)" } else { ")" });
        }
    };
    let mut q = QueryBuilder::<MySql>::new(select);
    q.push(from);
    push_where(&mut q);
    q.push(" ORDER BY pe.personId LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
    let rows: Vec<PersonRow> = q.build_query_as().fetch_all(db.pool()).await?;
    let total = match crate::access::known_total(page, rows.len()) {
        Some(n) => n,
        None => {
            let mut count = crate::access::count_query();
            count.push(from);
            push_where(&mut count);
            crate::access::bounded_count(db, count, page).await?
        }
    };
    Ok(Paged::new(rows, total, page))
}

/// One branch of the reachable persons: `select_from` rows whose proposal (`proposal_col`)
/// matches the filter and is visible (the proposal is joined only to match its name).
fn push_branch(
    q: &mut QueryBuilder<MySql>,
    filter: &PersonFilter,
    access: &Access,
    select_from: &str,
    proposal_col: &str,
) {
    q.push(select_from);
    if let Some(name) = &filter.proposal {
        q.push(format_args!(" JOIN Proposal p ON p.proposalId = {proposal_col} WHERE 1"));
        crate::proposals::push_name(q, "p", name);
    } else {
        q.push(" WHERE 1");
    }
    if !filter.show_all {
        access.push_proposal_filter(q, proposal_col);
    }
}
