//! The SQL of Java ISPyB's REST layer (the "legacy" routes EXI, py-ispyb-ui's java mode and
//! MXCuBE call), written as table joins rather than over the `v_*` views, which some sites lack
//! (Diamond's schema has none). Rows are untyped: each comes back as a JSON object whose keys
//! are Java's SQL aliases (`Proposal_proposalId`, `BLSession_startDate`, …) and whose values
//! follow the column types ([`row_to_json`]).
//!
//! Who sees what is [`LegacyAccess`]: the rule of the rest of the API ([`Access`]) plus the two
//! grants Java and py-ISPyB's legacy routes also honour, the proposal's owner
//! (`Proposal.personId`) and a proposal account (a login equal to the proposal's name).

pub mod collections;
pub mod files;
pub mod logistics;
pub mod phasing;
pub mod proposals;
pub mod scans;
pub mod sessions;
pub mod tokens;

use chrono::{NaiveDateTime, NaiveTime};
use serde_json::{Map, Number, Value};
use sqlx::mysql::{MySqlRow, MySqlValueRef};
use sqlx::{Column, Decode, MySql, QueryBuilder, Row, TypeInfo, ValueRef};

use crate::meta::{Flavour, TableMeta};
use crate::types::{DateTime, Int};
use crate::{Access, Db};

/// One row: Java's column aliases as keys.
pub type JsonRow = Map<String, Value>;

/// How dates are written: as Java ISPyB's Gson does (`Nov 22, 2016 9:30:00 AM`, `Nov 22, 2016`
/// for `DATE` columns), which EXI and MXCuBE parse, or as py-ISPyB does (ISO, no time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `MMM d, yyyy h:mm:ss a` (JDK 8, US locale).
    Java,
    /// `2016-11-22T09:30:00`.
    Iso,
}

impl DateStyle {
    /// A `DATETIME`/`TIMESTAMP` value.
    pub fn datetime(self, v: NaiveDateTime) -> String {
        match self {
            DateStyle::Java => v.format("%b %-d, %Y %-I:%M:%S %p").to_string(),
            DateStyle::Iso => v.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        }
    }

    /// A `DATE` value.
    pub fn date(self, v: chrono::NaiveDate) -> String {
        match self {
            DateStyle::Java => v.format("%b %-d, %Y").to_string(),
            DateStyle::Iso => v.format("%Y-%m-%d").to_string(),
        }
    }
}

/// Turns a row into a JSON object by column type: integers and decimals become numbers (a
/// decimal without fraction digits, such as a `SUM`, an integer), floats numbers as the
/// database prints them, dates strings in `dates` style (zero dates `null`), text strings.
/// Binary values are left out unless they are printable UTF-8 (some servers type
/// `GROUP_CONCAT` results as binary); spatial values are always left out.
pub fn row_to_json(row: &MySqlRow, dates: DateStyle) -> JsonRow {
    row_values(row, dates).map(|(name, v)| (name.to_string(), v)).collect()
}

/// The keys and values of [`row_to_json`], in column order.
fn row_values(row: &MySqlRow, dates: DateStyle) -> impl Iterator<Item = (&str, Value)> {
    row.columns().iter().enumerate().filter_map(move |(i, column)| {
        let raw = row.try_get_raw(i).ok()?;
        let value = if raw.is_null() { Value::Null } else { decode_value(raw, dates)? };
        Some((column.name(), value))
    })
}

/// Writes a row as [`row_to_json`] would serialise it (keys in column order), straight into
/// `out`, without building the map; `drop_nulls` leaves null values out.
fn write_row_json(out: &mut Vec<u8>, row: &MySqlRow, dates: DateStyle, drop_nulls: bool) {
    out.push(b'{');
    for (k, (name, value)) in row_values(row, dates).filter(|(_, v)| !(drop_nulls && v.is_null())).enumerate() {
        if k > 0 {
            out.push(b',');
        }
        // Writing a string or a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, name);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, &value);
    }
    out.push(b'}');
}

/// Size of the pieces a streamed list is sent in.
const STREAM_CHUNK: usize = 64 * 1024;

/// A JSON array of rows produced while the client reads it: the query runs on a task of its
/// own that writes rows into pieces of about 64 KiB and waits while two pieces are unread, so
/// memory stays bounded whatever the number of rows (a 10,000-movie list is about 27 MB of
/// JSON). Dropping it (the client went away) stops the query.
#[derive(Debug)]
pub struct JsonArrayStream {
    first: Option<Vec<u8>>,
    rx: tokio::sync::mpsc::Receiver<crate::Result<Vec<u8>>>,
    sql: String,
}

impl JsonArrayStream {
    /// The next piece; `None` after the last (the array's `]` is in the last piece). An error
    /// means the list was cut short (the first piece was read before the stream was returned,
    /// so a query that fails at once is an error of [`stream_json`] instead).
    pub fn poll_chunk(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<crate::Result<Vec<u8>>>> {
        match self.first.take() {
            Some(first) => std::task::Poll::Ready(Some(Ok(first))),
            None => self.rx.poll_recv(cx),
        }
    }

    /// The statement that produces the rows (with `?` for its values).
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

/// Runs a built query and streams its rows as a JSON array (each row as [`row_to_json`] has
/// it, keys in column order, null values left out when `drop_nulls`). The first piece is
/// awaited here, so that a failing query is an error rather than a cut response.
pub async fn stream_json(
    db: &Db,
    mut q: QueryBuilder<MySql>,
    dates: DateStyle,
    drop_nulls: bool,
) -> crate::Result<JsonArrayStream> {
    use futures_util::StreamExt;
    let sql = q.sql().as_str().to_string();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<crate::Result<Vec<u8>>>(2);
    let pool = db.pool().clone();
    tokio::spawn(async move {
        let mut rows = q.build().fetch(&pool);
        let mut buf = Vec::with_capacity(STREAM_CHUNK + 4096);
        buf.push(b'[');
        let mut first = true;
        while let Some(row) = rows.next().await {
            let row = match row {
                Ok(row) => row,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            if !first {
                buf.push(b',');
            }
            first = false;
            write_row_json(&mut buf, &row, dates, drop_nulls);
            if buf.len() >= STREAM_CHUNK {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(STREAM_CHUNK + 4096));
                if tx.send(Ok(full)).await.is_err() {
                    return; // the client went away
                }
            }
        }
        buf.push(b']');
        let _ = tx.send(Ok(buf)).await;
    });
    match rx.recv().await {
        Some(Ok(first)) => Ok(JsonArrayStream { first: Some(first), rx, sql }),
        Some(Err(e)) => Err(e),
        None => Err(sqlx::Error::WorkerCrashed.into()),
    }
}

fn decode_value(raw: MySqlValueRef<'_>, dates: DateStyle) -> Option<Value> {
    let value = match raw.type_info().name() {
        "NULL" => Value::Null,
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" | "TINYINT UNSIGNED"
        | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => Value::from(Int::decode(raw).ok()?.0),
        "BIGINT UNSIGNED" | "BIT" => Value::from(<u64 as Decode<MySql>>::decode(raw).ok()?),
        "FLOAT" => {
            // Printed as the database prints it (1.23984, not 1.2398400306701660).
            let f = <f32 as Decode<MySql>>::decode(raw).ok()?;
            number(f.to_string().parse().ok()?)
        }
        "DOUBLE" => number(<f64 as Decode<MySql>>::decode(raw).ok()?),
        "DECIMAL" => {
            let d = <rust_decimal::Decimal as Decode<MySql>>::decode(raw).ok()?;
            match (d.fract().is_zero(), rust_decimal::prelude::ToPrimitive::to_i64(&d)) {
                (true, Some(i)) => Value::from(i),
                _ => number(rust_decimal::prelude::ToPrimitive::to_f64(&d)?),
            }
        }
        "DATE" => match DateTime::decode(raw).ok()?.0 {
            Some(v) => Value::String(dates.date(v.date())),
            None => Value::Null,
        },
        "DATETIME" | "TIMESTAMP" => match DateTime::decode(raw).ok()?.0 {
            Some(v) => Value::String(dates.datetime(v)),
            None => Value::Null,
        },
        "TIME" => Value::String(<NaiveTime as Decode<MySql>>::decode(raw).ok()?.format("%H:%M:%S").to_string()),
        "GEOMETRY" => return None,
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            let bytes = <&[u8] as Decode<MySql>>::decode(raw).ok()?;
            let text = std::str::from_utf8(bytes).ok()?;
            if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                return None;
            }
            Value::String(text.to_string())
        }
        _ => {
            let bytes = <&[u8] as Decode<MySql>>::decode(raw).ok()?;
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
    };
    Some(value)
}

fn number(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Runs a built query and turns every row into JSON.
pub async fn fetch_json(db: &Db, mut q: QueryBuilder<MySql>, dates: DateStyle) -> crate::Result<Vec<JsonRow>> {
    let rows = q.build().fetch_all(db.pool()).await?;
    Ok(rows.iter().map(|r| row_to_json(r, dates)).collect())
}

/// Java's `parseToInteger`: the purely numeric items of a comma-separated list, without
/// duplicates, in order. At most `max` items are kept.
pub fn parse_ids(list: &str, max: usize) -> Vec<u32> {
    let mut ids: Vec<u32> = Vec::new();
    for item in list.split(',').map(str::trim) {
        if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(id) = item.parse::<u32>()
            && !ids.contains(&id)
        {
            ids.push(id);
            if ids.len() == max {
                break;
            }
        }
    }
    ids
}

/// A select list with Java's aliases that works on both schema flavours: a column the
/// flavour lacks (or a table it lacks) is selected as `NULL` under the same alias.
pub(crate) struct Select {
    flavour: Flavour,
    parts: Vec<String>,
}

impl Select {
    pub(crate) fn new(flavour: Flavour) -> Self {
        Self { flavour, parts: Vec::new() }
    }

    /// `alias.column AS key` for each `(column, key)` of `table`.
    pub(crate) fn cols(&mut self, table: &TableMeta, alias: &str, cols: &[(&str, &str)]) -> &mut Self {
        for (column, key) in cols {
            let present = table.in_flavour(self.flavour)
                && table.column(column).is_some_and(|c| c.type_in(self.flavour).is_some());
            self.parts.push(if present {
                format!("{alias}.`{column}` AS `{key}`")
            } else {
                format!("NULL AS `{key}`")
            });
        }
        self
    }

    /// Columns whose key is the column name.
    pub(crate) fn same(&mut self, table: &TableMeta, alias: &str, cols: &[&str]) -> &mut Self {
        let pairs: Vec<(&str, &str)> = cols.iter().map(|c| (*c, *c)).collect();
        self.cols(table, alias, &pairs)
    }

    /// Columns whose key is `<prefix>_<column>`.
    pub(crate) fn prefixed(&mut self, table: &TableMeta, alias: &str, prefix: &str, cols: &[&str]) -> &mut Self {
        let keys: Vec<String> = cols.iter().map(|c| format!("{prefix}_{c}")).collect();
        let pairs: Vec<(&str, &str)> = cols.iter().zip(&keys).map(|(c, k)| (*c, k.as_str())).collect();
        self.cols(table, alias, &pairs)
    }

    /// A raw expression under a key.
    pub(crate) fn expr(&mut self, expr: &str, key: &str) -> &mut Self {
        self.parts.push(format!("{expr} AS `{key}`"));
        self
    }

    pub(crate) fn sql(&self) -> String {
        self.parts.join(", ")
    }
}

/// Whether the flavour has this table (joins on a missing table are left out).
pub(crate) fn has_table(table: &TableMeta, flavour: Flavour) -> bool {
    table.in_flavour(flavour)
}

/// Whether the flavour has this column.
pub(crate) fn has_column(table: &TableMeta, column: &str, flavour: Flavour) -> bool {
    table.in_flavour(flavour) && table.column(column).is_some_and(|c| c.type_in(flavour).is_some())
}

/// What a legacy caller may see: [`Access`] (all proposals, beamline groups, sessions the
/// caller is on, proposals the caller is on) plus, as Java and py-ISPyB's legacy routes allow,
/// the proposals the caller owns (`Proposal.personId`) and the proposal whose name is the
/// caller's login (proposal accounts such as `mx415`), compared exactly and without case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAccess {
    /// The row filter of the rest of the API.
    pub access: Access,
    /// The caller's `Person.personId`.
    pub person_id: u32,
    /// The caller's login.
    pub login: String,
}

impl LegacyAccess {
    /// Whether every proposal is visible (`all_proposals`).
    pub fn sees_all(&self) -> bool {
        matches!(self.access, Access::All)
    }

    fn push_own(&self, q: &mut QueryBuilder<MySql>, proposal: &str) {
        q.push(format_args!("{proposal} IN (SELECT op.proposalId FROM Proposal op WHERE op.personId = "));
        q.push_bind(self.person_id);
        q.push(" OR UPPER(CONCAT(op.proposalCode, op.proposalNumber)) = UPPER(");
        q.push_bind(self.login.clone());
        q.push("))");
    }

    /// ` AND (…)`: rows of visible proposals (for objects reached through a proposal only:
    /// proteins, crystals, lab contacts, shipments).
    pub fn push_proposal_filter(&self, q: &mut QueryBuilder<MySql>, proposal: &str) {
        if self.sees_all() {
            return;
        }
        q.push(" AND (");
        self.push_own(q, proposal);
        q.push(" OR (1");
        self.access.push_proposal_filter(q, proposal);
        q.push("))");
    }

    /// ` AND (…)`: rows of visible sessions; `session` is the `BLSession` alias. An owner or a
    /// proposal account sees every session of the proposal, others what [`Access`] allows.
    pub fn push_session_filter(&self, q: &mut QueryBuilder<MySql>, proposal: &str, session: &str) {
        if self.sees_all() {
            return;
        }
        q.push(" AND (");
        self.push_own(q, proposal);
        q.push(" OR (1");
        self.access.push_filter(q, proposal, session);
        q.push("))");
    }
}

/// Resolves a proposal given in a path: its name (code and number, any case, exactly: `MX41`
/// never matches `mx415`) or its numeric id (digits only). A name wins over an id.
pub async fn resolve_proposal(db: &Db, text: &str) -> crate::Result<Option<u32>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return Ok(None);
    }
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT p.proposalId FROM Proposal p WHERE UPPER(CONCAT(p.proposalCode, p.proposalNumber)) = UPPER(",
    );
    q.push_bind(text.to_string()).push(")");
    let id = text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse::<u32>().ok()).flatten();
    if let Some(id) = id {
        q.push(" OR p.proposalId = ").push_bind(id);
    }
    q.push(" ORDER BY UPPER(CONCAT(p.proposalCode, p.proposalNumber)) = UPPER(")
        .push_bind(text.to_string())
        .push(") DESC, p.proposalId LIMIT 1");
    Ok(q.build_query_scalar::<u32>().fetch_optional(db.pool()).await?)
}

/// Whether the caller may see this proposal.
pub async fn can_see_proposal(db: &Db, access: &LegacyAccess, proposal_id: u32) -> crate::Result<bool> {
    let mut q = QueryBuilder::<MySql>::new("SELECT COUNT(*) FROM Proposal p WHERE p.proposalId = ");
    q.push_bind(proposal_id);
    access.push_proposal_filter(&mut q, "p.proposalId");
    let n: i64 = q.build_query_scalar().fetch_one(db.pool()).await?;
    Ok(n > 0)
}

/// The proposal of a session the caller may see (`None` when there is none or it is hidden).
pub async fn visible_session_proposal(db: &Db, access: &LegacyAccess, session_id: u32) -> crate::Result<Option<u32>> {
    let mut q = QueryBuilder::<MySql>::new("SELECT s.proposalId FROM BLSession s WHERE s.sessionId = ");
    q.push_bind(session_id);
    access.push_session_filter(&mut q, "s.proposalId", "s");
    Ok(q.build_query_scalar::<Option<u32>>().fetch_optional(db.pool()).await?.flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_parsed_as_java_does() {
        assert_eq!(parse_ids("3,1,x,3,,2", 100), vec![3, 1, 2]);
        assert_eq!(parse_ids("-1,1e3, 7 ", 100), vec![7]);
        assert_eq!(parse_ids("1,2,3", 2), vec![1, 2]);
        assert!(parse_ids("99999999999", 10).is_empty());
    }

    #[test]
    fn dates_in_both_styles() {
        let v = chrono::NaiveDate::from_ymd_opt(2016, 11, 22).unwrap().and_hms_opt(21, 5, 0).unwrap();
        assert_eq!(DateStyle::Java.datetime(v), "Nov 22, 2016 9:05:00 PM");
        assert_eq!(DateStyle::Iso.datetime(v), "2016-11-22T21:05:00");
        assert_eq!(DateStyle::Java.date(v.date()), "Nov 22, 2016");
        let morning = chrono::NaiveDate::from_ymd_opt(2017, 5, 2).unwrap().and_hms_opt(0, 30, 0).unwrap();
        assert_eq!(DateStyle::Java.datetime(morning), "May 2, 2017 12:30:00 AM");
    }

    #[test]
    fn owner_and_account_widen_the_filter() {
        let la = LegacyAccess {
            access: Access::Restricted { person_id: 7, beamlines: vec![] },
            person_id: 7,
            login: "mx415".into(),
        };
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 FROM Proposal p WHERE 1");
        la.push_proposal_filter(&mut q, "p.proposalId");
        let sql = q.sql().as_str().to_owned();
        assert!(sql.contains("op.personId = ?"), "{sql}");
        assert!(sql.contains("UPPER(CONCAT(op.proposalCode, op.proposalNumber)) = UPPER(?)"), "{sql}");
        assert!(sql.contains("ProposalHasPerson"), "{sql}");
        let all = LegacyAccess { access: Access::All, ..la };
        let mut q = QueryBuilder::<MySql>::new("SELECT 1 WHERE 1");
        all.push_session_filter(&mut q, "p.proposalId", "s");
        assert_eq!(q.sql().as_str(), "SELECT 1 WHERE 1");
    }
}
