//! Pieces of SQL that many of the data layer's modules build.

use sqlx::{MySql, QueryBuilder};

/// Appends `v1, v2, …` as bound values: the inside of an `IN (…)` or of a `FIELD(col, …)`.
///
/// The list is padded to the next power of two by repeating its last value (which changes
/// neither what `IN` matches nor the position `FIELD` returns), so that a statement has at most
/// a dozen shapes whatever the number of ids. Each shape is a prepared statement kept by every
/// connection; with one shape per length, lists of varying length would push useful
/// statements out of sqlx's cache, and an eviction costs a 40 ms stall with sqlx 0.9.0
/// (docs/performance.md, "Prepared statements and the 40 ms stall").
pub fn push_ids<T: Copy + Send + for<'q> sqlx::Encode<'q, MySql> + sqlx::Type<MySql> + 'static>(
    q: &mut QueryBuilder<MySql>,
    ids: &[T],
) {
    let Some(&last) = ids.last() else { return };
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    for _ in ids.len()..ids.len().next_power_of_two() {
        sep.push_bind(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ids: &[u32]) -> String {
        let mut q = QueryBuilder::<MySql>::new("IN (");
        push_ids(&mut q, ids);
        q.push(")");
        q.sql().as_str().to_string()
    }

    #[test]
    fn id_lists_come_in_powers_of_two() {
        assert_eq!(list(&[]), "IN ()");
        assert_eq!(list(&[7]), "IN (?)");
        assert_eq!(list(&[7, 8]), "IN (?, ?)");
        assert_eq!(list(&[7, 8, 9]), "IN (?, ?, ?, ?)");
        assert_eq!(list(&[1, 2, 3, 4, 5]), list(&[1, 2, 3, 4, 5, 6, 7, 8]));
        let shapes: std::collections::BTreeSet<String> =
            (1..=1000u32).map(|n| list(&(0..n).collect::<Vec<_>>())).collect();
        assert_eq!(shapes.len(), 11);
    }
}
