//! Body checks that serde cannot express (lengths, required-when-present, enums), collected
//! into one 422 that names every bad field.

use ispyb_db::write::Patch;

use crate::error::{ApiError, FieldError};

/// Collects field errors for one request body.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// A string of at most `max` characters (column size) and, when `required`, not empty.
    pub fn text(&mut self, loc: &[&str], value: Option<&str>, max: usize, required: bool) {
        match value {
            None if required => self.fail(loc, "field required", "value_error.missing"),
            Some(v) if required && v.trim().is_empty() => {
                self.fail(loc, "must not be empty", "value_error.any_str.min_length")
            }
            Some(v) if v.chars().count() > max => self.fail(
                loc,
                &format!("ensure this value has at most {max} characters"),
                "value_error.any_str.max_length",
            ),
            _ => {}
        }
    }

    /// A PATCH text field: same rules when present; `null` refused for `required` columns.
    pub fn patch_text(&mut self, loc: &[&str], value: &Patch<String>, max: usize, required: bool) {
        match value {
            Patch::Absent => {}
            Patch::Null if required => self.fail(loc, "none is not an allowed value", "type_error.none.not_allowed"),
            Patch::Null => {}
            Patch::Value(v) => self.text(loc, Some(v), max, required),
        }
    }

    /// One of a fixed set of values.
    pub fn one_of(&mut self, loc: &[&str], value: Option<&str>, allowed: &[&str]) {
        if let Some(v) = value
            && !allowed.contains(&v)
        {
            self.fail(
                loc,
                &format!("value is not a valid enumeration member; permitted: {}", allowed.join(", ")),
                "type_error.enum",
            );
        }
    }

    /// Records an error.
    pub fn fail(&mut self, loc: &[&str], msg: &str, kind: &str) {
        let mut full = vec!["body"];
        full.extend_from_slice(loc);
        self.0.push(FieldError::new(&full, msg, kind));
    }

    /// `Err(422)` when anything failed.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(ApiError::Validation(self.0)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_bad_field() {
        let mut c = Checks::default();
        c.text(&["cardName"], None, 40, true);
        c.text(&["Person", "givenName"], Some(&"x".repeat(46)), 45, true);
        c.text(&["comments"], Some("ok"), 255, false);
        c.patch_text(&["cardName"], &Patch::Null, 40, true);
        c.one_of(&["safetyLevel"], Some("PURPLE"), &["GREEN", "YELLOW", "RED"]);
        let ApiError::Validation(errors) = c.finish().unwrap_err() else { panic!() };
        let locs: Vec<String> = errors.iter().map(|e| e.loc.join(".")).collect();
        assert_eq!(locs, ["body.cardName", "body.Person.givenName", "body.cardName", "body.safetyLevel"]);
    }
}
