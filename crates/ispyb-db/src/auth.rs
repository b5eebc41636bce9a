//! Who a caller is: persons by login, their permissions from user groups, one-time tokens.

use sqlx::FromRow;

use crate::Db;

/// The identity columns of a person, as login and `/user/current` need them.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PersonIdentity {
    /// `Person.personId`.
    #[sqlx(rename = "personId")]
    pub person_id: u32,
    /// `Person.login`.
    pub login: Option<String>,
    /// `Person.givenName`.
    #[sqlx(rename = "givenName")]
    pub given_name: Option<String>,
    /// `Person.familyName`.
    #[sqlx(rename = "familyName")]
    pub family_name: Option<String>,
}

/// Finds the person with this login (the first, as py-ISPyB, when a site has duplicates).
pub async fn find_person(db: &Db, login: &str) -> crate::Result<Option<PersonIdentity>> {
    Ok(sqlx::query_as(
        "SELECT personId, login, givenName, familyName FROM Person WHERE login = ? ORDER BY personId LIMIT 1",
    )
    .bind(login)
    .fetch_optional(db.pool())
    .await?)
}

/// Permission types granted to a person through their user groups, without duplicates.
pub async fn permissions(db: &Db, person_id: u32) -> crate::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT p.type FROM UserGroup_has_Person ugp
         JOIN UserGroup_has_Permission ugperm ON ugperm.userGroupId = ugp.userGroupId
         JOIN Permission p ON p.permissionId = ugperm.permissionId
         WHERE ugp.personId = ? AND p.type IS NOT NULL ORDER BY p.type",
    )
    .bind(person_id)
    .fetch_all(db.pool())
    .await?)
}

/// Creates a person with only a login and optional names (login with
/// `create_person_on_missing`); returns the new id.
pub async fn create_person(
    db: &Db,
    login: &str,
    given_name: Option<&str>,
    family_name: Option<&str>,
    email: Option<&str>,
) -> crate::Result<u32> {
    let r = sqlx::query("INSERT INTO Person (login, givenName, familyName, emailAddress) VALUES (?, ?, ?, ?)")
        .bind(login)
        .bind(given_name)
        .bind(family_name)
        .bind(email)
        .execute(db.pool())
        .await?;
    Ok(r.last_insert_id() as u32)
}

/// Seconds a one-time token stays valid (py-ISPyB: about 10 to 15).
pub const ONCE_TOKEN_SECONDS: i64 = 15;

/// Stores a one-time token for one path, and purges expired ones (no background task is
/// needed, so any instance can serve the download).
pub async fn create_once_token(db: &Db, token: &str, person_id: u32, validity: &str) -> crate::Result<()> {
    sqlx::query("DELETE FROM SW_onceToken WHERE recordTimeStamp < NOW() - INTERVAL ? SECOND")
        .bind(ONCE_TOKEN_SECONDS)
        .execute(db.pool())
        .await?;
    sqlx::query("INSERT INTO SW_onceToken (token, personId, validity, recordTimeStamp) VALUES (?, ?, ?, NOW())")
        .bind(token)
        .bind(person_id)
        .bind(validity)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Consumes a one-time token valid for `validity`; returns its owner. Single use even with
/// several server instances: only one `DELETE` can remove the row.
pub async fn use_once_token(db: &Db, token: &str, validity: &str) -> crate::Result<Option<PersonIdentity>> {
    let owner: Option<u32> = sqlx::query_scalar(
        "SELECT personId FROM SW_onceToken WHERE token = ? AND validity = ? AND recordTimeStamp >= NOW() - INTERVAL ? SECOND LIMIT 1",
    )
    .bind(token)
    .bind(validity)
    .bind(ONCE_TOKEN_SECONDS)
    .fetch_optional(db.pool())
    .await?;
    let Some(person_id) = owner else { return Ok(None) };
    let deleted = sqlx::query("DELETE FROM SW_onceToken WHERE token = ? AND validity = ?")
        .bind(token)
        .bind(validity)
        .execute(db.pool())
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(None);
    }
    Ok(sqlx::query_as("SELECT personId, login, givenName, familyName FROM Person WHERE personId = ?")
        .bind(person_id)
        .fetch_optional(db.pool())
        .await?)
}
