//! Site options stored in `AdminVar` as JSON values, as py-ISPyB keeps them.

use sqlx::Row;

use crate::Db;

/// A group of beamlines whose staff hold one permission (`bl_admin`, …).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BeamLineGroup {
    /// Name shown to users.
    #[serde(rename = "groupName")]
    pub group_name: String,
    /// UI group (`mx`, `em`, …) that decides which pages py-ispyb-ui shows.
    #[serde(rename = "uiGroup")]
    pub ui_group: String,
    /// Permission type that grants access to the group's beamlines.
    pub permission: String,
    /// The beamlines.
    #[serde(rename = "beamLines", default)]
    pub beam_lines: Vec<BeamLineGroupBeamLine>,
}

/// A beamline of a group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BeamLineGroupBeamLine {
    /// `BLSession.beamLineName` value.
    #[serde(rename = "beamLineName")]
    pub beam_line_name: String,
    /// Whether the beamline is archived.
    #[serde(default)]
    pub archived: bool,
}

/// The options the server reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Message of the day.
    pub motd: String,
    /// Beamline groups.
    pub beam_line_groups: Vec<BeamLineGroup>,
    /// Whether a login of an unknown person creates them.
    pub create_person_on_missing: bool,
}

impl Options {
    /// Beamlines granted by the given permissions.
    pub fn beamlines_for(&self, permissions: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in self.beam_line_groups.iter().filter(|g| permissions.contains(&g.permission)) {
            for b in &g.beam_lines {
                if !out.contains(&b.beam_line_name) {
                    out.push(b.beam_line_name.clone());
                }
            }
        }
        out
    }

    /// Names of the groups granted by the given permissions.
    pub fn groups_for(&self, permissions: &[String]) -> Vec<String> {
        self.beam_line_groups
            .iter()
            .filter(|g| permissions.contains(&g.permission))
            .map(|g| g.group_name.clone())
            .collect()
    }

    /// UI groups of the groups that contain any of the beamlines.
    pub fn ui_groups_for(&self, beamlines: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in &self.beam_line_groups {
            if g.beam_lines.iter().any(|b| beamlines.contains(&b.beam_line_name)) && !out.contains(&g.ui_group) {
                out.push(g.ui_group.clone());
            }
        }
        out
    }
}

/// Reads the options; a value that is not valid JSON, or of the wrong shape, is ignored with a
/// warning rather than stopping the server.
pub async fn load(db: &Db) -> crate::Result<Options> {
    let rows = sqlx::query("SELECT name, value FROM AdminVar").fetch_all(db.pool()).await?;
    let mut o = Options::default();
    for r in rows {
        let name: Option<String> = r.try_get(0)?;
        let value: Option<String> = r.try_get(1)?;
        let (Some(name), Some(value)) = (name, value) else { continue };
        let parsed = serde_json::from_str::<serde_json::Value>(&value);
        match (name.as_str(), parsed) {
            ("motd", Ok(serde_json::Value::String(s))) => o.motd = s,
            ("create_person_on_missing", Ok(serde_json::Value::Bool(b))) => o.create_person_on_missing = b,
            ("beamLineGroups", Ok(v)) => match serde_json::from_value(v) {
                Ok(groups) => o.beam_line_groups = groups,
                Err(e) => tracing::warn!(error = %e, "AdminVar beamLineGroups is not a list of groups; ignored"),
            },
            _ => {}
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beamlines_and_groups_follow_permissions() {
        let o = Options {
            beam_line_groups: serde_json::from_str(
                r#"[{"groupName":"MX","uiGroup":"mx","permission":"bl_admin","beamLines":[{"beamLineName":"BL01"},{"beamLineName":"BL02"}]}]"#,
            )
            .unwrap(),
            ..Default::default()
        };
        assert_eq!(o.beamlines_for(&["bl_admin".into()]), vec!["BL01", "BL02"]);
        assert!(o.beamlines_for(&["other".into()]).is_empty());
        assert_eq!(o.groups_for(&["bl_admin".into()]), vec!["MX"]);
        assert_eq!(o.ui_groups_for(&["BL02".into()]), vec!["mx"]);
    }
}
