//! Table metadata kept beside the generated models: column types, keys and indexes of
//! both schema flavours, used by the schema check and to create a schema from scratch.

use std::fmt::Write as _;

/// The two families of ISPyB schema in use at facilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// `ispyb/ispyb-database`: ESRF heritage, the schema py-ISPyB is tested on.
    Ispyb,
    /// `DiamondLightSource/ispyb-database`: typed EM tables, processing jobs.
    Dls,
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Flavour::Ispyb => "ispyb",
            Flavour::Dls => "dls",
        })
    }
}

/// Implemented by every generated model: the metadata of its table.
pub trait Table {
    /// Columns, keys and indexes of the table this struct maps.
    fn meta() -> &'static TableMeta;
}

/// One table as the server knows it.
#[derive(Debug)]
pub struct TableMeta {
    /// Table name, with ISPyB's spelling.
    pub name: &'static str,
    /// Table comment.
    pub comment: &'static str,
    /// Default collation of the table (`latin1_swedish_ci`, `utf8mb4_general_ci`, …).
    pub collation: &'static str,
    /// Whether the `ispyb` flavour has this table.
    pub in_ispyb: bool,
    /// Whether the `dls` flavour has this table.
    pub in_dls: bool,
    /// Columns in table order (of the flavour the struct was generated from).
    pub columns: &'static [ColumnMeta],
    /// Primary key, unique and secondary indexes.
    pub indexes: &'static [IndexMeta],
    /// Foreign keys.
    pub foreign_keys: &'static [ForeignKeyMeta],
}

/// One column.
#[derive(Debug)]
pub struct ColumnMeta {
    /// Column name.
    pub name: &'static str,
    /// Full SQL type as `information_schema.COLUMNS.COLUMN_TYPE` spells it.
    pub column_type: &'static str,
    /// `IS_NULLABLE`.
    pub nullable: bool,
    /// `COLUMN_DEFAULT` as MariaDB renders it (`'text'`, `NULL`, `current_timestamp()`).
    pub default: Option<&'static str>,
    /// `EXTRA` (`auto_increment`, `on update current_timestamp()`, …).
    pub extra: &'static str,
    /// Expression of a generated column.
    pub generation: Option<&'static str>,
    /// Column comment; also the OpenAPI description of the field.
    pub comment: &'static str,
    /// Type in the `ispyb` flavour, `None` where that flavour lacks the column.
    pub ispyb_type: Option<&'static str>,
    /// Type in the `dls` flavour, `None` where that flavour lacks the column.
    pub dls_type: Option<&'static str>,
}

/// One index (the primary key is named `PRIMARY`).
#[derive(Debug)]
pub struct IndexMeta {
    /// Index name.
    pub name: &'static str,
    /// Whether values must be unique.
    pub unique: bool,
    /// `BTREE`, `FULLTEXT`, `SPATIAL` or `HASH`.
    pub kind: &'static str,
    /// Columns with an optional prefix length.
    pub columns: &'static [(&'static str, Option<u32>)],
}

/// One foreign key.
#[derive(Debug)]
pub struct ForeignKeyMeta {
    /// Constraint name.
    pub name: &'static str,
    /// Referencing columns.
    pub columns: &'static [&'static str],
    /// Referenced table.
    pub ref_table: &'static str,
    /// Referenced columns.
    pub ref_columns: &'static [&'static str],
    /// `ON DELETE` rule.
    pub on_delete: &'static str,
    /// `ON UPDATE` rule.
    pub on_update: &'static str,
}

impl TableMeta {
    /// Whether the given flavour has this table.
    pub fn in_flavour(&self, flavour: Flavour) -> bool {
        match flavour {
            Flavour::Ispyb => self.in_ispyb,
            Flavour::Dls => self.in_dls,
        }
    }

    /// Finds a column by name (case-insensitive, as MariaDB matches them).
    pub fn column(&self, name: &str) -> Option<&ColumnMeta> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Select list for this table's model: every column the flavour has, qualified by `alias`
    /// and named with the model's spelling (the flavours differ in case: `blSampleId` versus
    /// `BLSAMPLEID`), so `FromRow` finds each by name. Columns the flavour lacks are left out
    /// and decode as empty (`#[sqlx(default)]`).
    pub fn select(&self, alias: &str, flavour: Flavour) -> String {
        self.columns
            .iter()
            .filter(|c| c.type_in(flavour).is_some())
            .map(|c| format!("{alias}.`{0}` AS `{0}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `CREATE TABLE` for this table; foreign keys only towards tables in `known`.
    pub fn create_sql(&self, known: &[&TableMeta]) -> String {
        let mut parts: Vec<String> = self.columns.iter().map(ColumnMeta::definition).collect();
        for index in self.indexes {
            let cols = index
                .columns
                .iter()
                .map(|(c, len)| match len {
                    Some(n) => format!("`{c}`({n})"),
                    None => format!("`{c}`"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let def = if index.name == "PRIMARY" {
                format!("PRIMARY KEY ({cols})")
            } else if index.kind == "FULLTEXT" || index.kind == "SPATIAL" {
                format!("{} KEY `{}` ({cols})", index.kind, index.name)
            } else if index.unique {
                format!("UNIQUE KEY `{}` ({cols})", index.name)
            } else {
                format!("KEY `{}` ({cols})", index.name)
            };
            parts.push(def);
        }
        for fk in self.foreign_keys {
            if !known.iter().any(|t| t.name == fk.ref_table) {
                continue;
            }
            let quote = |cols: &[&str]| cols.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
            parts.push(format!(
                "CONSTRAINT `{}` FOREIGN KEY ({}) REFERENCES `{}` ({}) ON DELETE {} ON UPDATE {}",
                fk.name,
                quote(fk.columns),
                fk.ref_table,
                quote(fk.ref_columns),
                fk.on_delete,
                fk.on_update
            ));
        }
        let charset = self.collation.split('_').next().unwrap_or("utf8mb4");
        let mut sql = format!(
            "CREATE TABLE `{}` (\n  {}\n) ENGINE=InnoDB DEFAULT CHARSET={charset} COLLATE={}",
            self.name,
            parts.join(",\n  "),
            self.collation
        );
        if !self.comment.is_empty() {
            let _ = write!(sql, " COMMENT={}", quote_literal(self.comment));
        }
        sql
    }
}

impl ColumnMeta {
    /// The column's definition inside `CREATE TABLE`.
    pub fn definition(&self) -> String {
        let mut def = format!("`{}` {}", self.name, self.column_type);
        if let Some(expr) = self.generation {
            let kind = if self.extra.contains("STORED") { "STORED" } else { "VIRTUAL" };
            let _ = write!(def, " GENERATED ALWAYS AS ({expr}) {kind}");
        } else {
            if !self.nullable {
                def.push_str(" NOT NULL");
            }
            if let Some(default) = self.default {
                let _ = write!(def, " DEFAULT {default}");
            }
            if !self.extra.is_empty() {
                let _ = write!(def, " {}", self.extra);
            }
        }
        if !self.comment.is_empty() {
            let _ = write!(def, " COMMENT {}", quote_literal(self.comment));
        }
        def
    }

    /// Type of this column in one flavour.
    pub fn type_in(&self, flavour: Flavour) -> Option<&'static str> {
        match flavour {
            Flavour::Ispyb => self.ispyb_type,
            Flavour::Dls => self.dls_type,
        }
    }
}

/// Quotes a string as an SQL literal.
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// Aliases of the tables a statement reads (`FROM BLSession s` → `s` = `BLSession`; a table
/// without alias maps to itself), to name the tables of an `EXPLAIN`: for the statement-plan
/// checks of the tests and the benchmark. A reading of the text, not a SQL parser.
pub fn table_aliases(sql: &str) -> std::collections::BTreeMap<String, String> {
    const NOT_ALIASES: &[&str] = &[
        "ON",
        "WHERE",
        "JOIN",
        "LEFT",
        "RIGHT",
        "INNER",
        "STRAIGHT_JOIN",
        "GROUP",
        "ORDER",
        "LIMIT",
        "USING",
        "UNION",
        "FORCE",
        "USE",
        "IGNORE",
    ];
    let tokens: Vec<&str> =
        sql.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')').filter(|t| !t.is_empty()).collect();
    let mut map = std::collections::BTreeMap::new();
    for (i, t) in tokens.iter().enumerate() {
        if !(t.eq_ignore_ascii_case("FROM") || t.eq_ignore_ascii_case("JOIN")) {
            continue;
        }
        let Some(table) = tokens.get(i + 1).map(|t| t.trim_matches('`')) else { continue };
        if table.eq_ignore_ascii_case("SELECT") {
            continue;
        }
        map.insert(table.to_string(), table.to_string());
        let mut next = tokens.get(i + 2).copied().unwrap_or("");
        if next.eq_ignore_ascii_case("AS") {
            next = tokens.get(i + 3).copied().unwrap_or("");
        }
        let alias = next.trim_matches('`');
        if !alias.is_empty() && !NOT_ALIASES.iter().any(|k| k.eq_ignore_ascii_case(alias)) {
            map.insert(alias.to_string(), table.to_string());
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aliases_are_read_from_from_and_join() {
        let a = table_aliases(
            "SELECT 1 FROM BLSession s JOIN Proposal AS p ON p.proposalId = s.proposalId WHERE s.x IN (SELECT y FROM Session_has_Person shp WHERE 1)",
        );
        assert_eq!(a.get("s").map(String::as_str), Some("BLSession"));
        assert_eq!(a.get("p").map(String::as_str), Some("Proposal"));
        assert_eq!(a.get("shp").map(String::as_str), Some("Session_has_Person"));
    }

    static COLS: [ColumnMeta; 2] = [
        ColumnMeta {
            name: "id",
            column_type: "int(10) unsigned",
            nullable: false,
            default: None,
            extra: "auto_increment",
            generation: None,
            comment: "",
            ispyb_type: Some("int(10) unsigned"),
            dls_type: Some("int(10) unsigned"),
        },
        ColumnMeta {
            name: "name",
            column_type: "varchar(45)",
            nullable: true,
            default: Some("NULL"),
            extra: "",
            generation: None,
            comment: "it's a name",
            ispyb_type: Some("varchar(45)"),
            dls_type: None,
        },
    ];

    #[test]
    fn renders_create_table_with_keys_and_comments() {
        let t = TableMeta {
            name: "T",
            comment: "",
            collation: "latin1_swedish_ci",
            in_ispyb: true,
            in_dls: false,
            columns: &COLS,
            indexes: &[IndexMeta { name: "PRIMARY", unique: true, kind: "BTREE", columns: &[("id", None)] }],
            foreign_keys: &[ForeignKeyMeta {
                name: "fk",
                columns: &["id"],
                ref_table: "Missing",
                ref_columns: &["id"],
                on_delete: "CASCADE",
                on_update: "CASCADE",
            }],
        };
        let sql = t.create_sql(&[]);
        assert!(sql.contains("`id` int(10) unsigned NOT NULL auto_increment"), "{sql}");
        assert!(sql.contains("`name` varchar(45) DEFAULT NULL COMMENT 'it''s a name'"), "{sql}");
        assert!(sql.contains("PRIMARY KEY (`id`)"), "{sql}");
        assert!(!sql.contains("FOREIGN KEY"), "a key to an unknown table is left out: {sql}");
        assert!(sql.ends_with("DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci"), "{sql}");
    }
}
