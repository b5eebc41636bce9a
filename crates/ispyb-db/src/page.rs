//! Paging of list queries: `skip`/`limit` in, `{total, results, skip, limit}` out.

/// Which slice of a list the caller wants; limits are checked at the HTTP edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub skip: u64,
    /// Most rows to return.
    pub limit: u64,
}

/// One page of rows and the count of all matching rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    /// Number of rows matching the filters, before paging.
    pub total: u64,
    /// The rows of this page.
    pub results: Vec<T>,
    /// Echo of the request's `skip`.
    pub skip: u64,
    /// Echo of the request's `limit`.
    pub limit: u64,
}

impl<T> Paged<T> {
    /// Wraps a page of rows.
    pub fn new(results: Vec<T>, total: u64, page: Page) -> Self {
        Self { total, results, skip: page.skip, limit: page.limit }
    }

    /// Converts every row, keeping the paging numbers.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            total: self.total,
            results: self.results.into_iter().map(f).collect(),
            skip: self.skip,
            limit: self.limit,
        }
    }
}
