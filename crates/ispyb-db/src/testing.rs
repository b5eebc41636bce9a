//! Test databases: one per test, on the server named by `ISPYB_TEST_DATABASE_URL`, loaded
//! with a real ISPyB schema (and its test data) from `ISPYB_SCHEMA_DIR`. Behind the `testing`
//! feature; `scripts/test.sh` starts a private MariaDB on tmpfs and sets both variables.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::AssertSqlSafe;

use crate::{Db, Flavour};

/// A database that lives as long as one test.
pub struct TestDb {
    /// Pool on the test database.
    pub db: Db,
    /// Its name.
    pub name: String,
    server: sqlx::MySqlPool,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// URL of the test server (no database part).
pub fn server_url() -> String {
    std::env::var("ISPYB_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("ISPYB_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, or point it at a MariaDB server (mysql://root@127.0.0.1:3306) whose user may create databases")
    })
}

/// Folder with the real schemas (`ispyb/`, `dls/`).
pub fn schema_dir() -> PathBuf {
    let dir = std::env::var_os("ISPYB_SCHEMA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ispyb-database"));
    assert!(
        dir.join("ispyb").is_dir(),
        "no ISPyB schemas in {} (set ISPYB_SCHEMA_DIR to a copy of shared/ispyb-database)",
        dir.display()
    );
    dir
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let base = base.trim_end_matches('/');
    // Keep scheme://authority and replace any path.
    let authority_end =
        base.find("://").map(|i| i + 3).and_then(|s| base[s..].find('/').map(|p| s + p)).unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..authority_end])
}

impl TestDb {
    /// An empty database.
    pub async fn empty() -> Self {
        let server =
            crate::connect_pool(&server_url(), &crate::PoolSettings { max_connections: 2, ..Default::default() })
                .await
                .expect("connect to the test server");
        sweep(&server).await;
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let name = format!("t_{secs}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4")))
            .execute(&server)
            .await
            .expect("create test database");
        let db = crate::connect(
            &with_database(&server_url(), &name),
            &crate::PoolSettings { max_connections: 5, ..Default::default() },
        )
        .await
        .expect("connect to the test database");
        Self { db, name, server }
    }

    /// The real schema of a flavour with its test data (users abcd, efgh; proposals blc00001, MX1 in `ispyb`).
    pub async fn real(flavour: Flavour) -> Self {
        let mut t = Self::empty().await;
        let files = crate::dump::schema_files(&schema_dir(), flavour, true, flavour == Flavour::Ispyb);
        crate::dump::load_files(&t.db, &files).await.expect("load the real schema");
        t.db = Db::from_pool(t.db.pool().clone()).await.expect("detect the flavour");
        assert_eq!(t.db.flavour(), flavour);
        t
    }

    /// The `ispyb` flavour with py-ISPyB's test data.
    pub async fn ispyb() -> Self {
        Self::real(Flavour::Ispyb).await
    }

    /// Drops the database (call at the end of a passing test; failed tests leave theirs for
    /// inspection until the next run sweeps it).
    pub async fn drop(self) {
        self.db.close().await;
        let _ =
            sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{}`", self.name))).execute(&self.server).await;
        self.server.close().await;
    }
}

/// Drops test databases older than an hour (left by failed or killed runs).
async fn sweep(server: &sqlx::MySqlPool) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 't\\_%'",
    )
    .fetch_all(server)
    .await
    else {
        return;
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    for name in names {
        let old = name.split('_').nth(1).and_then(|s| s.parse::<u64>().ok()).is_some_and(|t| t + 3600 < now);
        if old {
            let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`"))).execute(server).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_database_urls() {
        assert_eq!(with_database("mysql://root@127.0.0.1:3306", "t1"), "mysql://root@127.0.0.1:3306/t1");
        assert_eq!(with_database("mysql://root@127.0.0.1:3306/", "t1"), "mysql://root@127.0.0.1:3306/t1");
        assert_eq!(
            with_database("mysql://root@localhost/x?socket=/tmp/s", "t1"),
            "mysql://root@localhost/t1?socket=/tmp/s"
        );
    }
}
