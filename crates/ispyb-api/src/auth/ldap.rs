//! The LDAP plugin (py-ISPyB's `LdapAuthentication`): a simple bind with the login and password.
//!
//! Two ways to find the user's DN:
//! - **template** (py-ISPyB's only mode): the DN is `LDAP_BIND_DN_TEMPLATE` with `{login}`
//!   (DN-escaped) and `{base}` filled in, by default `uid={login},{base}`;
//! - **search**: with `LDAP_SEARCH_BIND_DN` set, a service account binds first, searches the
//!   subtree under `LDAP_BASE_INTERNAL` with `LDAP_SEARCH_FILTER` (login filter-escaped, by
//!   default `(uid={login})`), then the user's own DN is bound with the password.
//!
//! Empty logins and passwords are refused before any network traffic: an empty password makes
//! a simple bind "unauthenticated" (RFC 4513 §5.1.2), which some servers treat as success.
//! Passwords are never logged.

use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, dn_escape, ldap_escape};
use secrecy::{ExposeSecret, SecretString};

use super::plugins::{AuthError, AuthFuture, Authenticator, Credentials, Identity};
use crate::config::ConfigError;

/// Keys this plugin reads from its `CONFIG` mapping (others are warned about).
const KNOWN_KEYS: &[&str] = &[
    "LDAP_URI",
    "LDAP_BASE_INTERNAL",
    "LDAP_BASE_GROUPS",
    "LDAP_BIND_DN_TEMPLATE",
    "LDAP_SEARCH_BIND_DN",
    "LDAP_SEARCH_BIND_PASSWORD",
    "LDAP_SEARCH_FILTER",
    "LDAP_STARTTLS",
    "LDAP_TIMEOUT_SECONDS",
    "LDAP_ATTR_GIVEN_NAME",
    "LDAP_ATTR_FAMILY_NAME",
    "LDAP_ATTR_EMAIL",
];

/// How the user's DN is found.
enum DnMode {
    /// `uid={login},{base}`-style template.
    Template(String),
    /// Bind as a service account, search, then bind as the entry found.
    Search { bind_dn: String, bind_password: SecretString, filter: String },
}

/// Login/password plugin checking credentials with an LDAP simple bind.
pub struct Ldap {
    name: String,
    uri: String,
    base: String,
    mode: DnMode,
    starttls: bool,
    timeout: Duration,
    attr_given_name: String,
    attr_family_name: String,
    attr_email: String,
}

impl std::fmt::Debug for Ldap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ldap")
            .field("name", &self.name)
            .field("uri", &self.uri)
            .field("base", &self.base)
            .field("search_mode", &matches!(self.mode, DnMode::Search { .. }))
            .field("starttls", &self.starttls)
            .finish_non_exhaustive()
    }
}

/// Reads typed values out of a plugin's `CONFIG` mapping, with errors naming plugin and key.
struct Conf<'a> {
    plugin: &'a str,
    map: serde_json::Map<String, serde_json::Value>,
}

impl<'a> Conf<'a> {
    fn new(plugin: &'a str, config: &serde_json::Value) -> Result<Self, ConfigError> {
        let map = match config {
            serde_json::Value::Object(m) => m.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            _ => return Err(ConfigError(format!("auth plugin `{plugin}`: CONFIG must be a mapping"))),
        };
        for key in map.keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                tracing::warn!(plugin, key = key.as_str(), "unknown LDAP plugin setting ignored");
            }
        }
        Ok(Self { plugin, map })
    }

    fn err(&self, key: &str, what: &str) -> ConfigError {
        ConfigError(format!("auth plugin `{}` (ldap): {key} {what}", self.plugin))
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    fn required(&self, key: &str) -> Result<String, ConfigError> {
        self.string(key)?.ok_or_else(|| self.err(key, "is missing"))
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(serde_json::Value::Bool(b)) => Ok(*b),
            Some(serde_json::Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(true),
                "false" | "no" | "off" | "0" => Ok(false),
                _ => Err(self.err(key, "must be true or false")),
            },
            Some(_) => Err(self.err(key, "must be true or false")),
        }
    }

    fn seconds(&self, key: &str, default: u64) -> Result<Duration, ConfigError> {
        let secs = match self.map.get(key) {
            None | Some(serde_json::Value::Null) => default,
            Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(|| self.err(key, "must be whole seconds"))?,
            Some(serde_json::Value::String(s)) => {
                s.trim().parse().map_err(|_| self.err(key, "must be whole seconds"))?
            }
            Some(_) => return Err(self.err(key, "must be whole seconds")),
        };
        if secs == 0 {
            return Err(self.err(key, "must be at least 1"));
        }
        Ok(Duration::from_secs(secs))
    }
}

impl Ldap {
    /// Builds the plugin from its `CONFIG` mapping. No network I/O: the server is only
    /// contacted at login.
    pub fn from_config(name: &str, config: &serde_json::Value) -> Result<Self, ConfigError> {
        let c = Conf::new(name, config)?;
        let uri = c.required("LDAP_URI")?;
        let parsed = url::Url::parse(&uri).map_err(|e| c.err("LDAP_URI", &format!("is not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "ldap" | "ldaps" | "ldapi") {
            return Err(c.err("LDAP_URI", "must start with ldap://, ldaps:// or ldapi://"));
        }
        let base = c.required("LDAP_BASE_INTERNAL")?;
        // LDAP_BASE_GROUPS: read by py-ISPyB but unused there too; permissions come from the DB.
        let _ = c.string("LDAP_BASE_GROUPS")?;
        let starttls = c.bool("LDAP_STARTTLS", false)?;
        if starttls && parsed.scheme() != "ldap" {
            return Err(c.err("LDAP_STARTTLS", "needs an ldap:// LDAP_URI (ldaps:// is already TLS)"));
        }
        let mode = match c.string("LDAP_SEARCH_BIND_DN")? {
            Some(bind_dn) => {
                let bind_password = c
                    .required("LDAP_SEARCH_BIND_PASSWORD")
                    .map_err(|_| c.err("LDAP_SEARCH_BIND_PASSWORD", "is missing (needed with LDAP_SEARCH_BIND_DN)"))?;
                let filter = c.string("LDAP_SEARCH_FILTER")?.unwrap_or_else(|| "(uid={login})".into());
                if !filter.contains("{login}") {
                    return Err(c.err("LDAP_SEARCH_FILTER", "must contain {login}"));
                }
                // Checked once here with a harmless login, so a typo fails at start-up.
                ldap3::parse_filter(filter.replace("{login}", "x"))
                    .map_err(|_| c.err("LDAP_SEARCH_FILTER", "is not a valid LDAP filter"))?;
                DnMode::Search { bind_dn, bind_password: SecretString::from(bind_password), filter }
            }
            None => {
                if c.string("LDAP_SEARCH_BIND_PASSWORD")?.is_some() {
                    return Err(c.err("LDAP_SEARCH_BIND_DN", "is missing (LDAP_SEARCH_BIND_PASSWORD is set)"));
                }
                let template = c.string("LDAP_BIND_DN_TEMPLATE")?.unwrap_or_else(|| "uid={login},{base}".into());
                if !template.contains("{login}") {
                    return Err(c.err("LDAP_BIND_DN_TEMPLATE", "must contain {login}"));
                }
                DnMode::Template(template)
            }
        };
        Ok(Self {
            name: name.to_string(),
            uri,
            base,
            mode,
            starttls,
            timeout: c.seconds("LDAP_TIMEOUT_SECONDS", 5)?,
            attr_given_name: c.string("LDAP_ATTR_GIVEN_NAME")?.unwrap_or_else(|| "givenName".into()),
            attr_family_name: c.string("LDAP_ATTR_FAMILY_NAME")?.unwrap_or_else(|| "sn".into()),
            attr_email: c.string("LDAP_ATTR_EMAIL")?.unwrap_or_else(|| "mail".into()),
        })
    }

    /// A 503 whose client-facing text names no host; the details go to the log.
    fn failed(&self, what: &str, detail: &str) -> AuthError {
        tracing::warn!(plugin = self.name, uri = self.uri, error = detail, "{what}");
        AuthError::Unavailable(what.to_string())
    }

    fn unavailable(&self, e: &LdapError) -> AuthError {
        match e {
            LdapError::Timeout { .. } => self.failed("the LDAP server did not answer in time", &e.to_string()),
            LdapError::Io { .. } => self.failed("cannot reach the LDAP server", &e.to_string()),
            _ => self.failed("the LDAP connection failed", &e.to_string()),
        }
    }

    fn attributes(&self) -> [&str; 3] {
        [&self.attr_given_name, &self.attr_family_name, &self.attr_email]
    }

    async fn connect(&self) -> Result<ldap3::Ldap, AuthError> {
        // ldap3's rustls config uses the process-wide provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let settings = LdapConnSettings::new().set_conn_timeout(self.timeout).set_starttls(self.starttls);
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.uri).await.map_err(|e| self.unavailable(&e))?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// Binds; `Ok(false)` when the server refuses these credentials.
    async fn bind(&self, ldap: &mut ldap3::Ldap, dn: &str, password: &str) -> Result<bool, AuthError> {
        let result = ldap.with_timeout(self.timeout).simple_bind(dn, password).await;
        match result {
            Ok(r) if r.rc == 0 => Ok(true),
            Ok(r) if refuses_credentials(r.rc) => {
                tracing::debug!(plugin = self.name, dn, rc = r.rc, "LDAP bind refused");
                Ok(false)
            }
            Ok(r) => {
                Err(self.failed("the LDAP server could not process the bind", &format!("code {}: {}", r.rc, r.text)))
            }
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    async fn search(
        &self,
        ldap: &mut ldap3::Ldap,
        base: &str,
        scope: Scope,
        filter: &str,
    ) -> Result<Vec<SearchEntry>, AuthError> {
        let result = ldap
            .with_timeout(self.timeout)
            .search(base, scope, filter, self.attributes().to_vec())
            .await
            .map_err(|e| self.unavailable(&e))?;
        match result.1.rc {
            0 => Ok(result.0.into_iter().map(SearchEntry::construct).collect()),
            // noSuchObject: the base (or, in template mode, the user's entry) does not exist.
            32 => Ok(Vec::new()),
            rc => Err(self.failed("the LDAP search failed", &format!("code {rc}: {}", result.1.text))),
        }
    }

    async fn check(&self, login: &str, password: &str) -> Result<Identity, AuthError> {
        let mut ldap = self.connect().await?;
        let outcome = self.check_on(&mut ldap, login, password).await;
        let _ = ldap.unbind().await;
        outcome
    }

    async fn check_on(&self, ldap: &mut ldap3::Ldap, login: &str, password: &str) -> Result<Identity, AuthError> {
        let entry = match &self.mode {
            DnMode::Template(template) => {
                let dn = template.replace("{base}", &self.base).replace("{login}", &dn_escape(login));
                if !self.bind(ldap, &dn, password).await? {
                    return Err(AuthError::InvalidCredentials);
                }
                // Bound as the user: read its own entry for names and e-mail. Not being allowed
                // to read it is no reason to refuse a correct password.
                match self.search(ldap, &dn, Scope::Base, "(objectClass=*)").await {
                    Ok(mut entries) => entries.pop(),
                    Err(e) => {
                        tracing::warn!(plugin = self.name, login, error = %e, "cannot read the LDAP entry after bind");
                        None
                    }
                }
            }
            DnMode::Search { bind_dn, bind_password, filter } => {
                if !self.bind(ldap, bind_dn, bind_password.expose_secret()).await? {
                    return Err(self.failed(
                        "the LDAP server refused the service account (check LDAP_SEARCH_BIND_DN and LDAP_SEARCH_BIND_PASSWORD)",
                        bind_dn,
                    ));
                }
                let filter = filter.replace("{login}", &ldap_escape(login));
                let mut entries = self.search(ldap, &self.base, Scope::Subtree, &filter).await?;
                if entries.len() > 1 {
                    tracing::warn!(
                        plugin = self.name,
                        login,
                        count = entries.len(),
                        "LDAP search found several entries; refused"
                    );
                    return Err(AuthError::InvalidCredentials);
                }
                let Some(entry) = entries.pop() else {
                    tracing::debug!(plugin = self.name, login, "no LDAP entry for this login");
                    return Err(AuthError::InvalidCredentials);
                };
                if !self.bind(ldap, &entry.dn, password).await? {
                    return Err(AuthError::InvalidCredentials);
                }
                Some(entry)
            }
        };
        let attr = |name: &str| -> Option<String> {
            let entry = entry.as_ref()?;
            let values = entry.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)?;
            values.first().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        Ok(Identity {
            login: login.to_string(),
            given_name: attr(&self.attr_given_name),
            family_name: attr(&self.attr_family_name),
            email: attr(&self.attr_email),
        })
    }
}

/// Bind result codes that mean "these credentials are not accepted" rather than a server fault:
/// invalidCredentials (49), noSuchObject (32), inappropriateAuthentication (48),
/// insufficientAccessRights (50), unwillingToPerform (53, e.g. an empty password or a locked
/// account), invalidDNSyntax (34), constraintViolation (19, password policy).
fn refuses_credentials(rc: u32) -> bool {
    matches!(rc, 19 | 32 | 34 | 48 | 49 | 50 | 53)
}

impl Authenticator for Ldap {
    fn authenticate<'a>(&'a self, credentials: &'a Credentials) -> AuthFuture<'a> {
        Box::pin(async move {
            let login = credentials.login.as_deref().unwrap_or_default();
            let password = credentials.password.as_deref().unwrap_or_default();
            if login.trim().is_empty() || password.is_empty() {
                // Never reaches the server: an empty password would be an unauthenticated bind.
                return Err(AuthError::InvalidCredentials);
            }
            // Backstop over connect + binds + search (each also has its own timeout).
            match tokio::time::timeout(self.timeout * 3, self.check(login, password)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(self.failed("the LDAP server did not answer in time", "login timed out")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_keys_name_the_plugin_and_key() {
        let e = Ldap::from_config("corp", &json!({"LDAP_BASE_INTERNAL": "ou=People,dc=x"})).unwrap_err();
        assert!(e.0.contains("`corp`") && e.0.contains("LDAP_URI"), "{e}");
        let e = Ldap::from_config("corp", &json!({"LDAP_URI": "ldap://h"})).unwrap_err();
        assert!(e.0.contains("LDAP_BASE_INTERNAL"), "{e}");
        let e = Ldap::from_config(
            "corp",
            &json!({"LDAP_URI": "ldap://h", "LDAP_BASE_INTERNAL": "dc=x", "LDAP_SEARCH_BIND_DN": "cn=svc"}),
        )
        .unwrap_err();
        assert!(e.0.contains("LDAP_SEARCH_BIND_PASSWORD"), "{e}");
        let e = Ldap::from_config("corp", &json!({"LDAP_URI": "http://h", "LDAP_BASE_INTERNAL": "dc=x"})).unwrap_err();
        assert!(e.0.contains("LDAP_URI"), "{e}");
        let e = Ldap::from_config(
            "corp",
            &json!({"LDAP_URI": "ldap://h", "LDAP_BASE_INTERNAL": "dc=x", "LDAP_SEARCH_BIND_DN": "cn=s",
                    "LDAP_SEARCH_BIND_PASSWORD": "p", "LDAP_SEARCH_FILTER": "(uid={login}"}),
        )
        .unwrap_err();
        assert!(e.0.contains("LDAP_SEARCH_FILTER"), "{e}");
    }

    #[test]
    fn py_ispyb_config_is_accepted() {
        let l = Ldap::from_config(
            "ldap",
            &json!({"LDAP_URI": "ldap://localhost", "LDAP_BASE_INTERNAL": "ou=People,dc=esrf,dc=fr",
                    "LDAP_BASE_GROUPS": "ou=Groups,dc=esrf,dc=fr", "LDAP_TIMEOUT_SECONDS": "3", "LDAP_STARTTLS": "true"}),
        )
        .unwrap();
        assert!(matches!(&l.mode, DnMode::Template(t) if t == "uid={login},{base}"));
        assert_eq!(l.timeout, Duration::from_secs(3));
        assert!(l.starttls);
        assert!(l.exported_config().is_empty());
    }

    #[tokio::test]
    async fn empty_logins_and_passwords_never_reach_the_server() {
        // Nothing listens on port 1: any network attempt would be `Unavailable`, not refused.
        let l = Ldap::from_config("ldap", &json!({"LDAP_URI": "ldap://127.0.0.1:1", "LDAP_BASE_INTERNAL": "dc=x"}))
            .unwrap();
        for (login, password) in
            [(Some("abcd"), Some("")), (Some("abcd"), None), (Some(" "), Some("pw")), (None, Some("pw"))]
        {
            let c = Credentials { login: login.map(Into::into), password: password.map(Into::into), token: None };
            assert!(matches!(l.authenticate(&c).await, Err(AuthError::InvalidCredentials)), "{login:?} {password:?}");
        }
        let c = Credentials { login: Some("abcd".into()), password: Some("pw".into()), token: None };
        assert!(matches!(l.authenticate(&c).await, Err(AuthError::Unavailable(_))));
    }
}
