//! Building blocks of partial updates: a field that may be absent, null or set, and the
//! dynamic `UPDATE` that writes only the fields a request sent.

use serde::{Deserialize, Deserializer};
use sqlx::{MySql, QueryBuilder, Transaction};

/// A field of a PATCH body: left out, sent as `null`, or sent with a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    /// Not in the body: leave the column alone.
    #[default]
    Absent,
    /// `null`: clear the column.
    Null,
    /// A new value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Only called when the key is present (`#[serde(default)]` gives `Absent`).
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Patch::Value(v),
            None => Patch::Null,
        })
    }
}

impl<T> Patch<T> {
    /// Whether the body sent this field.
    pub fn is_present(&self) -> bool {
        !matches!(self, Patch::Absent)
    }

    /// The value, if one was sent.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// A value to bind in a dynamic statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean (stored as 0/1).
    Bool(bool),
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<u32> for SqlValue {
    fn from(v: u32) -> Self {
        SqlValue::Int(i64::from(v))
    }
}

impl From<f64> for SqlValue {
    fn from(v: f64) -> Self {
        SqlValue::Float(v)
    }
}

impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Bool(v)
    }
}

/// Column assignments collected from a PATCH body.
#[derive(Debug, Default)]
pub struct Changes(pub Vec<(&'static str, SqlValue)>);

impl Changes {
    /// Records a field if it was sent.
    pub fn add<T: Clone + Into<SqlValue>>(&mut self, column: &'static str, field: &Patch<T>) {
        match field {
            Patch::Absent => {}
            Patch::Null => self.0.push((column, SqlValue::Null)),
            Patch::Value(v) => self.0.push((column, v.clone().into())),
        }
    }

    /// Records a value unconditionally.
    pub fn set(&mut self, column: &'static str, value: impl Into<SqlValue>) {
        self.0.push((column, value.into()));
    }

    /// Whether nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn push_value(q: &mut QueryBuilder<MySql>, v: &SqlValue) {
    match v {
        SqlValue::Null => {
            q.push("NULL");
        }
        SqlValue::Text(s) => {
            q.push_bind(s.clone());
        }
        SqlValue::Int(i) => {
            q.push_bind(*i);
        }
        SqlValue::Float(f) => {
            q.push_bind(*f);
        }
        SqlValue::Bool(b) => {
            q.push_bind(*b);
        }
    }
}

/// `UPDATE table SET … WHERE key = id` with only the given columns (names come from code,
/// never from the request).
pub async fn update(
    tx: &mut Transaction<'_, MySql>,
    table: &str,
    key: &str,
    id: u32,
    changes: &Changes,
) -> crate::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<MySql>::new(format!("UPDATE `{table}` SET "));
    for (i, (col, v)) in changes.0.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push(format_args!("`{col}` = "));
        push_value(&mut q, v);
    }
    q.push(format_args!(" WHERE `{key}` = ")).push_bind(id);
    q.build().execute(&mut **tx).await?;
    Ok(())
}

/// `INSERT INTO table (…) VALUES (…)`; returns the new id.
pub async fn insert(tx: &mut Transaction<'_, MySql>, table: &str, values: &Changes) -> crate::Result<u32> {
    let cols = values.0.iter().map(|(c, _)| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    let mut q = QueryBuilder::<MySql>::new(format!("INSERT INTO `{table}` ({cols}) VALUES ("));
    for (i, (_, v)) in values.0.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        push_value(&mut q, v);
    }
    q.push(")");
    let r = q.build().execute(&mut **tx).await?;
    Ok(r.last_insert_id() as u32)
}

/// Whether an error is a duplicate-key violation (MariaDB 1062).
pub fn is_duplicate(e: &crate::Error) -> bool {
    matches!(e, crate::Error::Sqlx(sqlx::Error::Database(d)) if d.code().as_deref() == Some("23000") && d.message().contains("Duplicate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        a: Patch<String>,
        #[serde(default)]
        b: Patch<i64>,
        #[serde(default)]
        c: Patch<i64>,
    }

    #[test]
    fn absent_null_and_values_differ() {
        let body: Body = serde_json::from_str(r#"{"a": "x", "b": null}"#).unwrap();
        assert_eq!(body.a, Patch::Value("x".into()));
        assert_eq!(body.b, Patch::Null);
        assert_eq!(body.c, Patch::Absent);
        let mut ch = Changes::default();
        ch.add("a", &body.a);
        ch.add("b", &body.b);
        ch.add("c", &body.c);
        assert_eq!(ch.0, vec![("a", SqlValue::Text("x".into())), ("b", SqlValue::Null)]);
    }
}
