//! Column types that decode what real ISPyB databases hold: zero dates, and `TIMESTAMP` as well
//! as `DATETIME` columns, which sqlx's own chrono types treat strictly.

use chrono::{NaiveDate, NaiveDateTime};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::mysql::{MySql, MySqlTypeInfo, MySqlValueRef};
use sqlx::{Decode, Encode, Type, TypeInfo, ValueRef};

/// A `DATETIME`, `TIMESTAMP` or `DATE` value, `None` for NULL and for MariaDB's zero date
/// (`0000-00-00 00:00:00`, the default of many ISPyB columns). Serialises like py-ISPyB:
/// `"2024-05-01T09:30:00"`, no time zone, or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct DateTime(pub Option<NaiveDateTime>);

/// A `DATE` value, `None` for NULL and for the zero date; serialises as `"2024-05-01"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Date(pub Option<NaiveDate>);

impl From<NaiveDateTime> for DateTime {
    fn from(v: NaiveDateTime) -> Self {
        Self(Some(v))
    }
}

impl From<NaiveDate> for Date {
    fn from(v: NaiveDate) -> Self {
        Self(Some(v))
    }
}

fn is_temporal(ty: &MySqlTypeInfo) -> bool {
    matches!(ty.name(), "DATETIME" | "TIMESTAMP" | "DATE" | "NULL")
}

/// Whether the raw value is a zero date, in either wire format: the binary protocol sends a
/// length byte (0, 4, 7 or 11) then year/month/day; the text protocol sends ASCII digits.
fn is_zero(raw: &[u8]) -> bool {
    match raw.first() {
        None | Some(0) => true,
        Some(&b) if b < b'0' => raw.len() >= 5 && raw[1] == 0 && raw[2] == 0 && (raw[3] == 0 || raw[4] == 0),
        Some(_) => raw.starts_with(b"0000-00-00") || raw.get(5..10).is_some_and(|md| md.starts_with(b"00")),
    }
}

impl Type<MySql> for DateTime {
    fn type_info() -> MySqlTypeInfo {
        <NaiveDateTime as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        is_temporal(ty)
    }
}

impl<'r> Decode<'r, MySql> for DateTime {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.is_null() {
            return Ok(Self(None));
        }
        let raw = <&[u8] as Decode<MySql>>::decode(value.clone())?;
        if is_zero(raw) {
            return Ok(Self(None));
        }
        if value.type_info().name() == "DATE" {
            return Ok(Self(<NaiveDate as Decode<MySql>>::decode(value)?.and_hms_opt(0, 0, 0)));
        }
        Ok(Self(Some(<NaiveDateTime as Decode<MySql>>::decode(value)?)))
    }
}

impl Encode<'_, MySql> for DateTime {
    fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        match &self.0 {
            Some(v) => <NaiveDateTime as Encode<MySql>>::encode_by_ref(v, buf),
            None => Ok(IsNull::Yes),
        }
    }
}

impl serde::Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(v) => s.collect_str(&v.format("%Y-%m-%dT%H:%M:%S%.f")),
            None => s.serialize_none(),
        }
    }
}

impl Type<MySql> for Date {
    fn type_info() -> MySqlTypeInfo {
        <NaiveDate as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        is_temporal(ty)
    }
}

impl<'r> Decode<'r, MySql> for Date {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(DateTime::decode(value)?.0.map(|v| v.date())))
    }
}

impl Encode<'_, MySql> for Date {
    fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        match &self.0 {
            Some(v) => <NaiveDate as Encode<MySql>>::encode_by_ref(v, buf),
            None => Ok(IsNull::Yes),
        }
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(v) => s.collect_str(&v.format("%Y-%m-%d")),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_zero_dates_in_both_wire_formats() {
        assert!(is_zero(&[]));
        assert!(is_zero(&[0]));
        assert!(is_zero(&[4, 0, 0, 0, 0]));
        assert!(!is_zero(&[4, 0xe8, 0x07, 5, 1]));
        assert!(is_zero(b"0000-00-00 00:00:00"));
        assert!(!is_zero(b"2024-05-01 00:00:00"));
    }

    #[test]
    fn serialises_like_py_ispyb() {
        let v = DateTime::from(NaiveDate::from_ymd_opt(2020, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap());
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"2020-01-02T03:04:05\"");
        assert_eq!(serde_json::to_string(&DateTime(None)).unwrap(), "null");
    }
}

/// A `GROUP_CONCAT` result, served as a JSON list (`[]` for NULL), as py-ISPyB splits it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvList(pub Vec<String>);

impl Type<MySql> for CsvList {
    fn type_info() -> MySqlTypeInfo {
        <String as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        <String as Type<MySql>>::compatible(ty) || <[u8] as Type<MySql>>::compatible(ty)
    }
}

impl<'r> Decode<'r, MySql> for CsvList {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.is_null() {
            return Ok(Self::default());
        }
        let raw = <&[u8] as Decode<MySql>>::decode(value)?;
        let text = String::from_utf8_lossy(raw);
        Ok(Self(text.split(',').filter(|s| !s.is_empty()).map(String::from).collect()))
    }
}

impl serde::Serialize for CsvList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// An integer column whose signedness differs between the schema flavours (sqlx decodes
/// signed and unsigned strictly): decodes either, serialises as a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Int(pub i64);

impl Type<MySql> for Int {
    fn type_info() -> MySqlTypeInfo {
        <i64 as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        let name = ty.name();
        name.contains("INT") && name != "BOOLEAN"
    }
}

impl<'r> Decode<'r, MySql> for Int {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.type_info().name().ends_with("UNSIGNED") {
            Ok(Self(i64::try_from(<u64 as Decode<MySql>>::decode(value)?)?))
        } else {
            Ok(Self(<i64 as Decode<MySql>>::decode(value)?))
        }
    }
}

impl Encode<'_, MySql> for Int {
    fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<MySql>>::encode_by_ref(&self.0, buf)
    }
}

impl serde::Serialize for Int {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

/// A column whose type family differs between the schema flavours (the ESRF flavour keeps EM
/// numbers as text; Diamond's as numbers; `processingStatus` is an enum in one and a boolean in
/// the other): decodes whatever the database holds and serialises it as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scalar {
    /// NULL.
    #[default]
    Null,
    /// Text.
    Text(String),
    /// An integer (booleans too).
    Int(i64),
    /// A floating-point or decimal number.
    Float(f64),
}

impl Scalar {
    /// The value as a number: numbers as they are, text parsed (`None` when it is not a number).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Null => None,
            Scalar::Text(s) => s.trim().parse().ok(),
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Float(f) => Some(*f),
        }
    }
}

impl Type<MySql> for Scalar {
    fn type_info() -> MySqlTypeInfo {
        <String as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        !matches!(ty.name(), "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BINARY" | "VARBINARY")
    }
}

impl<'r> Decode<'r, MySql> for Scalar {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.is_null() {
            return Ok(Scalar::Null);
        }
        let name = value.type_info().name().to_string();
        if name == "BOOLEAN" || name.contains("INT") {
            return Ok(Scalar::Int(Int::decode(value)?.0));
        }
        if name.starts_with("FLOAT") || name.starts_with("DOUBLE") {
            return Ok(Scalar::Float(<f64 as Decode<MySql>>::decode(value)?));
        }
        if name.starts_with("DECIMAL") {
            let d = <rust_decimal::Decimal as Decode<MySql>>::decode(value)?;
            return Ok(Scalar::Float(rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(f64::NAN)));
        }
        let raw = <&[u8] as Decode<MySql>>::decode(value)?;
        Ok(Scalar::Text(String::from_utf8_lossy(raw).into_owned()))
    }
}

impl Encode<'_, MySql> for Scalar {
    fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        match self {
            Scalar::Null => Ok(IsNull::Yes),
            Scalar::Text(s) => <String as Encode<MySql>>::encode_by_ref(s, buf),
            Scalar::Int(i) => <i64 as Encode<MySql>>::encode_by_ref(i, buf),
            Scalar::Float(f) => <f64 as Encode<MySql>>::encode_by_ref(f, buf),
        }
    }
}

impl serde::Serialize for Scalar {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Null => s.serialize_none(),
            Scalar::Text(t) => s.serialize_str(t),
            Scalar::Int(i) => s.serialize_i64(*i),
            Scalar::Float(f) => s.serialize_f64(*f),
        }
    }
}
