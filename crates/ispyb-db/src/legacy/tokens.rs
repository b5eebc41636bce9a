//! Revoked legacy tokens. A legacy token is a signed JWT with a random id (`jti`); revoking it
//! stores that id in `SW_onceToken` (a table both schema flavours have, already shared by every
//! server instance for one-time tokens) with the validity marker [`REVOKED`] and the token's
//! expiry as `recordTimeStamp`, so the row outlives the token and is then purged with the
//! one-time tokens. The marker never equals a request path, so a revocation row can never be
//! used as a one-time token.

use crate::Db;

/// `SW_onceToken.validity` of a revoked legacy token.
pub const REVOKED: &str = "legacy:revoked";

/// Records a revoked token id until `expires` (seconds since the epoch).
pub async fn revoke(db: &Db, jti: &str, person_id: u32, expires: i64) -> crate::Result<()> {
    if is_revoked(db, jti).await? {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO SW_onceToken (token, personId, validity, recordTimeStamp) VALUES (?, ?, ?, FROM_UNIXTIME(?))",
    )
    .bind(jti)
    .bind(person_id)
    .bind(REVOKED)
    .bind(expires)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Whether a token id was revoked.
pub async fn is_revoked(db: &Db, jti: &str) -> crate::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM SW_onceToken WHERE token = ? AND validity = ?")
        .bind(jti)
        .bind(REVOKED)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// The login of a person, if the person still exists, and whether the token id was revoked:
/// what every request with a legacy token checks, in one statement.
pub async fn check(db: &Db, person_id: u32, jti: &str) -> crate::Result<(Option<String>, bool)> {
    let row: Option<(Option<String>, i64)> = sqlx::query_as(
        "SELECT p.login, (SELECT COUNT(*) FROM SW_onceToken t WHERE t.token = ? AND t.validity = ?) \
         FROM Person p WHERE p.personId = ?",
    )
    .bind(jti)
    .bind(REVOKED)
    .bind(person_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(match row {
        Some((login, revoked)) => (login, revoked > 0),
        None => (None, is_revoked(db, jti).await?),
    })
}
