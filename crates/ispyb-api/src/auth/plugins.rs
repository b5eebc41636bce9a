//! Login plugins, chosen by an `auth.yml` in py-ISPyB's format: a list of named plugins, each
//! with `ENABLED`, optional `AUTH_MODULE`/`AUTH_CLASS` (py-ISPyB's class names map onto ours)
//! and `CONFIG`. Several may be enabled at once; clients pick one by name at login.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::config::ConfigError;

/// What a plugin found out about the person logging in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The login to look up in `Person.login`.
    pub login: String,
    /// Given name, when the identity provider knows it.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
}

/// Credentials of `POST /auth/login`.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Login name, for login-type plugins.
    pub login: Option<String>,
    /// Password, for login-type plugins.
    pub password: Option<String>,
    /// External token (an OIDC access token), for token-type plugins.
    pub token: Option<String>,
}

/// Why a plugin refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong login, password or token: 401.
    #[error("Could not verify")]
    InvalidCredentials,
    /// The identity provider cannot be reached: 503.
    #[error("authentication service unavailable: {0}")]
    Unavailable(String),
}

/// What [`Authenticator::authenticate`] returns (a boxed future keeps the trait object-safe).
pub type AuthFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Identity, AuthError>> + Send + 'a>>;

/// A way to log in. Implement it for a site's own identity system and register it in
/// [`build_plugin`] (see `docs/auth.md`).
pub trait Authenticator: Send + Sync {
    /// Checks the credentials and says who they belong to.
    fn authenticate<'a>(&'a self, credentials: &'a Credentials) -> AuthFuture<'a>;

    /// Public settings shown by `GET /auth/config` (e.g. a Keycloak URL for the UI's button).
    fn exported_config(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }

    /// Whether this plugin accepts any password (only the dummy one does).
    fn is_insecure(&self) -> bool {
        false
    }
}

/// The enabled plugins, in file order.
#[derive(Clone, Default)]
pub struct AuthPlugins {
    plugins: Vec<(String, Arc<dyn Authenticator>)>,
}

impl std::fmt::Debug for AuthPlugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins.iter().map(|(n, _)| n)).finish()
    }
}

#[derive(Deserialize)]
struct AuthFile {
    #[serde(rename = "AUTH")]
    auth: Vec<BTreeMap<String, PluginEntry>>,
}

#[derive(Deserialize)]
struct PluginEntry {
    #[serde(rename = "ENABLED")]
    enabled: bool,
    #[serde(rename = "AUTH_MODULE")]
    module: Option<String>,
    #[serde(rename = "AUTH_CLASS")]
    class: Option<String>,
    /// Our own name for the kind (`dummy`, `ldap`, `oidc`), when no py-ISPyB class is given.
    #[serde(rename = "KIND")]
    kind: Option<String>,
    #[serde(rename = "CONFIG", default)]
    config: serde_json::Value,
}

impl AuthPlugins {
    /// Only the dummy plugin, named `dummy` (demo and tests).
    pub fn dummy_only() -> Self {
        Self { plugins: vec![("dummy".into(), Arc::new(super::dummy::Dummy))] }
    }

    /// Plugins from explicit instances (tests and sites that build their own binary).
    pub fn from_plugins(plugins: Vec<(String, Arc<dyn Authenticator>)>) -> Self {
        Self { plugins }
    }

    /// Reads an `auth.yml`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("bad setting AUTH_CONFIG: cannot read {}: {e}", path.display())))?;
        Self::from_yaml(&text)
            .map_err(|e| ConfigError(format!("bad setting AUTH_CONFIG ({}): {}", path.display(), e.0)))
    }

    /// Parses the text of an `auth.yml`.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let file: AuthFile = yaml_serde::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        let mut plugins = Vec::new();
        for entry in file.auth {
            for (name, p) in entry {
                if !p.enabled {
                    continue;
                }
                let kind = p.kind.as_deref().or(p.class.as_deref()).or(p.module.as_deref()).unwrap_or(name.as_str());
                plugins.push((name.clone(), build_plugin(&name, kind, &p.config)?));
            }
        }
        if plugins.is_empty() {
            return Err(ConfigError("no authentication plugin is enabled".into()));
        }
        Ok(Self { plugins })
    }

    /// The plugin with this name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Authenticator>> {
        self.plugins.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    /// Names and plugins in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn Authenticator>)> {
        self.plugins.iter().map(|(n, p)| (n.as_str(), p))
    }

    /// Whether a plugin that accepts any password is enabled.
    pub fn has_insecure(&self) -> bool {
        self.plugins.iter().any(|(_, p)| p.is_insecure())
    }
}

/// Maps a plugin kind, or py-ISPyB's class or module name, onto an implementation: the last
/// dotted segment of `KIND`, `AUTH_CLASS` or `AUTH_MODULE` (in that order), case-insensitive.
/// Building a plugin does no network I/O. A site's own plugin is added here (see `docs/auth.md`).
pub fn build_plugin(name: &str, kind: &str, config: &serde_json::Value) -> Result<Arc<dyn Authenticator>, ConfigError> {
    let k = kind.rsplit('.').next().unwrap_or(kind).trim().to_ascii_lowercase();
    match k.as_str() {
        "dummy" | "dummyauthentication" => Ok(Arc::new(super::dummy::Dummy)),
        "ldap" | "ldapauthentication" => Ok(Arc::new(super::ldap::Ldap::from_config(name, config)?)),
        "oidc" | "keycloak" | "keycloakauthentication" | "keycloakdbgroupsauthentication" => {
            Ok(Arc::new(super::oidc::Oidc::from_config(name, config)?))
        }
        _ => Err(ConfigError(format!(
            "auth plugin `{name}`: unknown kind `{kind}` (known: dummy, ldap, oidc/keycloak, or py-ISPyB's \
             DummyAuthentication, LdapAuthentication, KeycloakAuthentication)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_py_ispyb_auth_yml() {
        let yml = r#"
AUTH:
  - dummy:
      ENABLED: true
      AUTH_MODULE: "pyispyb.app.extensions.auth.DummyAuthentication"
      AUTH_CLASS: "DummyAuthentication"
  - other:
      ENABLED: false
      AUTH_CLASS: "Whatever"
"#;
        let p = AuthPlugins::from_yaml(yml).unwrap();
        assert_eq!(p.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["dummy"]);
        assert!(p.has_insecure());
    }

    #[test]
    fn rejects_files_without_plugins_or_with_unknown_kinds() {
        assert!(AuthPlugins::from_yaml("AUTH: []").is_err());
        let e = AuthPlugins::from_yaml("AUTH:\n  - x:\n      ENABLED: true\n      KIND: magic\n").unwrap_err();
        assert!(e.0.contains("unknown kind"), "{e}");
    }
}
