//! The schema check (does this database have every table and column the server needs, with
//! types the models can decode?) and schema creation from the models' metadata.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Executor, Row};

use crate::meta::TableMeta;
use crate::models::TABLES;
use crate::{Db, Flavour};

/// What the schema check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SchemaReport {
    /// Name of the database checked.
    pub database: String,
    /// The detected flavour.
    pub flavour: Flavour,
    /// `AdminVar.schemaVersion`, when present.
    pub schema_version: Option<String>,
    /// Every missing table or column and every incompatible type; empty when the check passes.
    pub gaps: Vec<Gap>,
}

/// One thing the server needs that the database lacks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    /// Table concerned.
    pub table: String,
    /// Column concerned, `None` when the whole table is missing.
    pub column: Option<String>,
    /// What is wrong, in one line.
    pub problem: String,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{}.{}: {}", self.table, c, self.problem),
            None => write!(f, "{}: {}", self.table, self.problem),
        }
    }
}

impl SchemaReport {
    /// Whether the server can run on this database.
    pub fn is_ok(&self) -> bool {
        self.gaps.is_empty()
    }
}

/// Detects the flavour: only Diamond's schema has processing jobs.
pub async fn detect_flavour_of(pool: &sqlx::MySqlPool) -> crate::Result<Flavour> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ProcessingJob'",
    )
    .fetch_one(pool)
    .await?;
    Ok(if n > 0 { Flavour::Dls } else { Flavour::Ispyb })
}

/// Compares the database with the models' metadata.
pub async fn check(db: &Db) -> crate::Result<SchemaReport> {
    let database: Option<String> = sqlx::query_scalar("SELECT DATABASE()").fetch_one(db.pool()).await?;
    // Detected again: the schema may have changed since the pool was opened.
    let flavour = detect_flavour_of(db.pool()).await?;
    let rows = sqlx::query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
    )
    .fetch_all(db.pool())
    .await?;
    // MariaDB matches table and column names case-insensitively here (lower_case_table_names
    // aside), so the lookup does too.
    let mut live: HashMap<String, HashMap<String, String>> = HashMap::new();
    for r in &rows {
        let table: String = r.try_get(0)?;
        let column: String = r.try_get(1)?;
        let ty: String = r.try_get(2)?;
        live.entry(table.to_lowercase()).or_default().insert(column.to_lowercase(), ty);
    }
    let mut gaps = Vec::new();
    for table in TABLES.iter().filter(|t| t.in_flavour(flavour)) {
        let Some(cols) = live.get(&table.name.to_lowercase()) else {
            gaps.push(Gap { table: table.name.into(), column: None, problem: "table is missing".into() });
            continue;
        };
        for column in table.columns {
            let Some(expected) = column.type_in(flavour) else { continue };
            match cols.get(&column.name.to_lowercase()) {
                None => gaps.push(Gap {
                    table: table.name.into(),
                    column: Some(column.name.into()),
                    problem: format!("column is missing (expected {expected})"),
                }),
                Some(actual) if !compatible(expected, actual) => gaps.push(Gap {
                    table: table.name.into(),
                    column: Some(column.name.into()),
                    problem: format!("type is {actual}, expected {expected}"),
                }),
                Some(_) => {}
            }
        }
    }
    let schema_version = if live.contains_key("adminvar") {
        sqlx::query_scalar("SELECT value FROM AdminVar WHERE name = 'schemaVersion' LIMIT 1")
            .fetch_optional(db.pool())
            .await?
    } else {
        None
    };
    Ok(SchemaReport { database: database.unwrap_or_default(), flavour, schema_version, gaps })
}

/// Type families the models decode; sizes may grow (a wider varchar, a longer enum) but the
/// family, signedness and `tinyint(1)`-as-bool must match, since the driver decodes strictly.
fn family(ty: &str) -> (String, bool) {
    let ty = ty.to_ascii_lowercase();
    let base = ty.split(['(', ' ']).next().unwrap_or_default().to_string();
    let unsigned = ty.contains("unsigned");
    let base = match base.as_str() {
        "tinyint" if ty.starts_with("tinyint(1)") => "bool".to_string(),
        "varchar" | "char" | "text" | "tinytext" | "mediumtext" | "longtext" | "enum" | "set" => "text".to_string(),
        "datetime" | "timestamp" => "datetime".to_string(),
        "binary" | "varbinary" | "blob" | "tinyblob" | "mediumblob" | "longblob" => "binary".to_string(),
        "mediumint" => "int".to_string(),
        "float" | "double" => "real".to_string(),
        other => other.to_string(),
    };
    (base, unsigned)
}

fn compatible(expected: &str, actual: &str) -> bool {
    family(expected) == family(actual)
}

/// Whether a database exists on the server.
pub async fn database_exists(db: &Db, name: &str) -> crate::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")
        .bind(name)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// Drops (if present) and creates an empty database. The name must be a plain identifier.
pub async fn recreate_database(db: &Db, name: &str) -> crate::Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(crate::Error::Url(format!("`{name}` is not a plain database name")));
    }
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{name}`"))).execute(db.pool()).await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))).execute(db.pool()).await?;
    Ok(())
}

/// Number of tables in the current database.
pub async fn count_tables(db: &Db) -> crate::Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
        .fetch_one(db.pool())
        .await?)
}

/// Creates every modelled table of the `ispyb` flavour, with its keys and indexes, in an
/// empty database. Used by `ispyb demo` and `ispyb db init`.
pub async fn create(db: &Db) -> crate::Result<()> {
    let tables: Vec<&TableMeta> = TABLES.iter().copied().filter(|t| t.in_ispyb).collect();
    let mut conn = db.pool().acquire().await?;
    // Tables reference each other in cycles; create them all, then let the keys apply.
    conn.execute("SET FOREIGN_KEY_CHECKS = 0").await?;
    for t in &tables {
        let sql = t.create_sql(&tables);
        conn.execute(AssertSqlSafe(sql)).await?;
    }
    conn.execute("SET FOREIGN_KEY_CHECKS = 1").await?;
    conn.execute("INSERT INTO AdminVar (name, value) VALUES ('schemaVersion', 'ispyb-rs-demo')").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_families() {
        assert_eq!(family("int(10) unsigned"), family("int(11) unsigned"));
        assert_ne!(family("int(10) unsigned"), family("int(11)"));
        assert_eq!(family("varchar(45)"), family("varchar(255)"));
        assert_eq!(family("enum('a','b')"), family("varchar(10)"));
        assert_ne!(family("tinyint(1)"), family("tinyint(4)"));
        assert_eq!(family("float"), family("double"));
        assert_eq!(family("timestamp"), family("datetime"));
    }
}
