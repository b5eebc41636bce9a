//! ISPyB data layer: generated table models, every SQL statement the server runs, the schema
//! check, schema creation for demo databases and synthetic data. Knows MariaDB, not HTTP.

pub mod access;
pub mod auth;
pub mod containers;
pub mod datacollections;
pub mod dewars;
pub mod dump;
pub mod em;
pub mod events;
pub mod labcontacts;
pub mod legacy;
pub mod mapping;
pub mod meta;
pub mod models;
pub mod options;
pub mod page;
pub mod persons;
pub mod processings;
pub mod proposals;
pub mod proteins;
pub mod samples;
pub mod schema;
pub mod seed;
pub mod sessions;
pub mod shippings;
pub mod sql;
pub mod stats;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;
pub mod write;

use std::time::Duration;

pub use access::Access;
pub use meta::Flavour;
pub use page::{Page, Paged};
/// The driver's error type, for callers that classify failures (503 versus 500).
pub use sqlx::Error as SqlxError;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};

/// Errors of the data layer. Query failures stay `sqlx` errors so callers can tell a lost
/// connection from a bad statement.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A statement or the connection failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// The database URL cannot be used.
    #[error("database URL: {0}")]
    Url(String),
}

/// Result type of the data layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Handle on one ISPyB database: a connection pool shared by every request, and the schema
/// flavour detected when it was opened (queries differ where the flavours do).
#[derive(Debug, Clone)]
pub struct Db {
    pool: sqlx::MySqlPool,
    flavour: Flavour,
}

impl Db {
    /// Wraps a pool, detecting the flavour of its database.
    pub async fn from_pool(pool: sqlx::MySqlPool) -> Result<Self> {
        let flavour = schema::detect_flavour_of(&pool).await?;
        Ok(Self { pool, flavour })
    }

    /// The connection pool.
    pub fn pool(&self) -> &sqlx::MySqlPool {
        &self.pool
    }

    /// The schema flavour.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// Closes every connection; later queries fail (as when the server is unreachable).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Pool settings; the defaults suit one server instance in front of one MariaDB.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections this instance opens.
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails with 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 10, acquire_timeout: Duration::from_secs(5) }
    }
}

/// Prepared statements kept per connection unless the URL says otherwise: with the default
/// pool of 10, at most 5,120 per instance, against MariaDB's default `max_prepared_stmt_count`
/// of 16,382 for the whole server.
pub const STATEMENT_CACHE_CAPACITY: usize = 512;

/// What MariaDB's `max_prepared_stmt_count` leaves room for when every connection of this
/// pool fills its statement cache (see [`STATEMENT_CACHE_CAPACITY`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementBudget {
    /// `@@max_prepared_stmt_count`: prepared statements of all clients together.
    pub max_prepared: u64,
    /// Statements each connection keeps (`statement-cache-capacity`).
    pub per_connection: u64,
    /// Connections of this pool.
    pub connections: u64,
}

impl StatementBudget {
    /// Reads the server's limit and this pool's settings.
    pub async fn of(db: &Db) -> Result<Self> {
        use sqlx::ConnectOptions;
        let max_prepared: u64 =
            sqlx::query_scalar("SELECT CAST(@@max_prepared_stmt_count AS UNSIGNED)").fetch_one(db.pool()).await?;
        let url = db.pool().connect_options().to_url_lossy();
        let per_connection = url
            .query_pairs()
            .find(|(k, _)| k == "statement-cache-capacity")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(STATEMENT_CACHE_CAPACITY as u64);
        Ok(Self { max_prepared, per_connection, connections: u64::from(db.pool().options().get_max_connections()) })
    }

    /// Instances of this configuration the limit allows, each with full caches.
    pub fn instances(&self) -> u64 {
        self.max_prepared / (self.per_connection * self.connections).max(1)
    }
}

/// Parses a database URL. Accepts `mysql://`, `mariadb://` and SQLAlchemy's
/// `mysql+mysqlconnector://` / `mysql+pymysql://` forms, so py-ISPyB settings carry over.
pub fn connect_options(url: &str) -> Result<MySqlConnectOptions> {
    let normalized = match url.split_once("://") {
        Some((scheme, rest)) if scheme == "mysql" || scheme == "mariadb" || scheme.starts_with("mysql+") => {
            format!("mysql://{rest}")
        }
        Some((scheme, _)) => return Err(Error::Url(format!("unsupported scheme `{scheme}` (use mysql://)"))),
        None => return Err(Error::Url("expected mysql://user:password@host:port/database".into())),
    };
    let opts: MySqlConnectOptions = normalized.parse().map_err(|e: sqlx::Error| Error::Url(redact(&e.to_string())))?;
    // sqlx 0.9.0 leaves Nagle's algorithm on (github.com/transact-rs/sqlx/issues/4335): when its per-connection
    // cache of prepared statements is full, it closes the oldest statement with a packet the
    // server does not answer, and the next packet then waits for MariaDB's delayed ACK, 40 ms
    // on Linux. The server's distinct statements outnumber sqlx's default of 100, so the cache
    // is made large enough to hold them (docs/performance.md); the URL's own
    // `statement-cache-capacity` wins.
    let opts = if normalized.contains("statement-cache-capacity=") {
        opts
    } else {
        opts.statement_cache_capacity(STATEMENT_CACHE_CAPACITY)
    };
    Ok(opts
        .charset("utf8mb4")
        // ISPyB stores naive local times; keep them as they are rather than converting them.
        .timezone(None::<String>))
}

/// Removes anything that looks like a password from a message about a URL.
fn redact(msg: &str) -> String {
    msg.split_whitespace()
        .map(|w| match (w.find("://"), w.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}://***{}", &w[..s], &w[at..]),
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks that the database answers.
pub async fn ping(db: &Db) -> Result<()> {
    sqlx::query("SELECT 1").execute(db.pool()).await?;
    Ok(())
}

/// Asks the server to shut down (the demo's private server).
pub async fn shutdown_server(db: &Db) -> Result<()> {
    sqlx::raw_sql("SHUTDOWN").execute(db.pool()).await?;
    Ok(())
}

/// 32 random bytes from a cryptographically secure generator seeded by the OS (keys, tokens).
pub fn random_bytes() -> [u8; 32] {
    use rand::Rng;
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b);
    b
}

/// Opens a pool; fails at once when the server cannot be reached.
pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Db> {
    Db::from_pool(connect_pool(url, settings).await?).await
}

/// Opens a bare pool (no flavour detection), e.g. on a server without a database selected.
pub async fn connect_pool(url: &str, settings: &PoolSettings) -> Result<sqlx::MySqlPool> {
    let pool = MySqlPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .max_lifetime(Duration::from_secs(1800))
        .connect_with(connect_options(url)?)
        .await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sqlalchemy_urls() {
        let o = connect_options("mysql+mysqlconnector://test:test@127.0.0.1/test").unwrap();
        assert_eq!(o.get_host(), "127.0.0.1");
        assert_eq!(o.get_database(), Some("test"));
        assert!(connect_options("postgres://x@y/z").is_err());
        assert!(connect_options("nonsense").is_err());
    }

    #[test]
    fn keeps_512_prepared_statements_unless_the_url_says() {
        use sqlx::ConnectOptions;
        let capacity = |u: &str| -> String {
            let url = connect_options(u).unwrap().to_url_lossy();
            url.query_pairs().find(|(k, _)| k == "statement-cache-capacity").map(|(_, v)| v.into_owned()).unwrap()
        };
        assert_eq!(capacity("mysql://u@h/db"), "512");
        assert_eq!(capacity("mysql://u@h/db?statement-cache-capacity=50"), "50");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("bad mysql://u:secret@h/db"), "bad mysql://***@h/db");
    }
}
