//! Pieces of SQL that many of the data layer's modules build.

use sqlx::{MySql, QueryBuilder};

/// Appends `v1, v2, …` as bound values (the inside of an `IN (…)` or a `FIELD(…)`).
pub fn push_ids<T: Copy + Send + for<'q> sqlx::Encode<'q, MySql> + sqlx::Type<MySql> + 'static>(
    q: &mut QueryBuilder<MySql>,
    ids: &[T],
) {
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
}
