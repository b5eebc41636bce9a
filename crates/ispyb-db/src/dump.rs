//! Loading of mysqldump files (the real ISPyB schemas that tests and `db init --from` use),
//! without the `mariadb` command-line client.

use std::path::{Path, PathBuf};

use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::{Db, Flavour};

/// The dump files of one flavour in `dir` (a checkout of `shared/ispyb-database`), in load order.
/// `with_data` adds the test data; `with_routines` the stored routines.
pub fn schema_files(dir: &Path, flavour: Flavour, with_data: bool, with_routines: bool) -> Vec<PathBuf> {
    let (sub, tables, lookups, data, routines): (&str, &str, &str, &[&str], &str) = match flavour {
        Flavour::Ispyb => {
            ("ispyb", "1_tables.sql", "2_lookups.sql", &["3_data.sql", "4_data_user_portal.sql"], "5_routines.sql")
        }
        Flavour::Dls => ("dls", "tables.sql", "lookups.sql", &["data.sql"], "routines.sql"),
    };
    let mut files = vec![dir.join(sub).join(tables), dir.join(sub).join(lookups)];
    if with_data {
        files.extend(data.iter().map(|d| dir.join(sub).join(d)));
    }
    if with_routines {
        files.push(dir.join(sub).join(routines));
    }
    files
}

/// Turns a dump into SQL the server accepts over the wire: `DELIMITER` is a client command, so
/// its lines are dropped and the `;;` terminators of routine bodies become `;` (MariaDB parses a
/// `BEGIN … END;` block inside a multi-statement text by itself).
pub fn strip_delimiters(dump: &str) -> String {
    let mut out = String::with_capacity(dump.len());
    let mut custom = false;
    for line in dump.lines() {
        let trimmed = line.trim_end();
        if let Some(rest) = trimmed.strip_prefix("DELIMITER ") {
            custom = rest.trim() != ";";
            continue;
        }
        if custom && trimmed.ends_with(";;") {
            out.push_str(&trimmed[..trimmed.len() - 1]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Executes dump files, in order, on a connection of its own to `db`'s database.
pub async fn load_files(db: &Db, files: &[PathBuf]) -> crate::Result<()> {
    // A dump is one statement of megabytes that takes seconds: sqlx would log all of it as a
    // slow statement, so this connection logs none.
    let opts = (*db.pool().connect_options()).clone().disable_statement_logging();
    let mut conn = sqlx::MySqlConnection::connect_with(&opts).await?;
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| sqlx::Error::Configuration(format!("cannot read {}: {e}", file.display()).into()))?;
        let sql = strip_delimiters(&text);
        conn.execute(sqlx::raw_sql(AssertSqlSafe(sql))).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_client_delimiters() {
        let dump = "SET a=1;\nDELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; END ;;\nDELIMITER ;\nSELECT 2;\n";
        assert_eq!(strip_delimiters(dump), "SET a=1;\nCREATE PROCEDURE p() BEGIN SELECT 1; END ;\nSELECT 2;\n");
    }
}
