//! Server configuration: a YAML file plus environment variables, with py-ISPyB's names so a
//! site can move its settings over. Every problem is reported as one line naming the setting.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Settings read by every command that talks to a database or serves the API.
///
/// Keys are case-insensitive; the file uses the same names as the environment
/// (`API_ROOT: /ispyb/api/v1` or `api_root: ...`).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// URL prefix of every API route (`API_ROOT`).
    pub api_root: String,
    /// Key that signs the server's JWTs (`SECRET_KEY`); required.
    pub secret_key: Option<SecretString>,
    /// MariaDB URL (`DATABASE_URL`, or py-ISPyB's `SQLALCHEMY_DATABASE_URI`).
    pub database_url: Option<SecretString>,
    /// py-ISPyB's name for `database_url`; accepted with the `mysql+mysqlconnector://` form.
    pub sqlalchemy_database_uri: Option<SecretString>,
    /// Token lifetime in minutes (`TOKEN_EXP_TIME`).
    pub token_exp_time: u64,
    /// Refresh-token lifetime in minutes (`ISPYB_REFRESH_EXP_TIME`): how long a client may go on
    /// refreshing without logging in again.
    pub refresh_exp_time: u64,
    /// Failed logins allowed per client address, and per login, within `login_window_secs`
    /// (`ISPYB_LOGIN_MAX_FAILURES`); then 429.
    pub login_max_failures: u32,
    /// Window of the failed-login limit, seconds (`ISPYB_LOGIN_WINDOW_SECS`).
    pub login_window_secs: u64,
    /// JWT signing algorithm (`JWT_CODING_ALGORITHM`): HS256, HS384 or HS512.
    pub jwt_coding_algorithm: String,
    /// Whether to answer cross-origin requests as py-ISPyB does (`CORS`).
    pub cors: bool,
    /// Path of the authentication plugins file in py-ISPyB's `auth.yml` format (`AUTH_CONFIG`).
    pub auth_config: Option<PathBuf>,
    /// Address and port to listen on (`ISPYB_BIND`).
    pub bind: String,
    /// Largest `limit` a list accepts (`ISPYB_MAX_LIMIT`).
    pub max_limit: u64,
    /// Database connections per server instance (`ISPYB_DATABASE_POOL`, py-ISPyB's name).
    pub database_pool: u32,
    /// Folders file routes may serve from, separated by `:` (`ISPYB_DATA_ROOTS`); a path the
    /// database names outside them is refused. Empty: file routes answer 404.
    pub data_roots: Option<String>,
    /// py-ISPyB's `PATH_MAP`: a prefix put in front of every file path read from the database
    /// (e.g. the server's mount of the beamline's `/data`).
    pub path_map: Option<String>,
    /// Log format: `text` or `json` (`ISPYB_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Allow the dummy plugin, which accepts any password, outside the demo
    /// (`ISPYB_ALLOW_DUMMY_AUTH`). Never in production.
    pub allow_dummy_auth: bool,
    /// Serve Java ISPyB's routes at `/ispyb/ispyb-ws/rest` and `{API_ROOT}/legacy` (`ISPYB_LEGACY_ROUTES`).
    pub legacy_routes: bool,
    /// Lifetime of tokens from the legacy `POST /authenticate`, minutes (`ISPYB_LEGACY_TOKEN_EXP_TIME`).
    pub legacy_token_exp_time: u64,
    /// Login plugin the legacy `POST /authenticate` uses; unset: each plugin in order (`ISPYB_LEGACY_AUTH_PLUGIN`).
    pub legacy_auth_plugin: Option<String>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Defaults, written with the same keys as the file and the environment.
#[derive(Serialize)]
struct Defaults {
    api_root: &'static str,
    token_exp_time: u64,
    jwt_coding_algorithm: &'static str,
    refresh_exp_time: u64,
    login_max_failures: u32,
    login_window_secs: u64,
    cors: bool,
    bind: &'static str,
    max_limit: u64,
    database_pool: u32,
    log_format: LogFormat,
    allow_dummy_auth: bool,
    legacy_routes: bool,
    legacy_token_exp_time: u64,
}

const DEFAULTS: Defaults = Defaults {
    api_root: "/ispyb/api/v1",
    token_exp_time: 300,
    jwt_coding_algorithm: "HS256",
    refresh_exp_time: 24 * 60,
    login_max_failures: 10,
    login_window_secs: 300,
    cors: false,
    bind: "127.0.0.1:8000",
    max_limit: 1000,
    database_pool: 10,
    log_format: LogFormat::Text,
    allow_dummy_auth: false,
    legacy_routes: true,
    legacy_token_exp_time: 180,
};

/// Environment variables read as they are named (py-ISPyB's names).
const PLAIN_ENV: &[&str] = &[
    "API_ROOT",
    "SECRET_KEY",
    "DATABASE_URL",
    "SQLALCHEMY_DATABASE_URI",
    "TOKEN_EXP_TIME",
    "JWT_CODING_ALGORITHM",
    "CORS",
    "AUTH_CONFIG",
    "PATH_MAP",
];

/// A configuration problem, in one line that names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// YAML files through `yaml_serde`; keys are lower-cased so `API_ROOT:` and `api_root:` agree.
struct Yaml;

impl Format for Yaml {
    type Error = yaml_serde::Error;
    const NAME: &'static str = "YAML";

    fn from_str<T: serde::de::DeserializeOwned>(string: &str) -> Result<T, Self::Error> {
        let value: yaml_serde::Value = yaml_serde::from_str(string)?;
        let value = match value {
            yaml_serde::Value::Mapping(m) => yaml_serde::Value::Mapping(
                m.into_iter()
                    .map(|(k, v)| match k {
                        yaml_serde::Value::String(s) => (yaml_serde::Value::String(s.to_lowercase()), v),
                        other => (other, v),
                    })
                    .collect(),
            ),
            other => other,
        };
        yaml_serde::from_value(value)
    }
}

impl Config {
    /// Reads defaults, then the YAML file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file)?)
    }

    /// The layered sources, for callers that add their own overrides.
    pub fn figment(file: Option<&Path>) -> Result<Figment, ConfigError> {
        let mut f = Figment::from(Serialized::defaults(DEFAULTS));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!("config file {} does not exist", path.display())));
            }
            f = f.merge(Yaml::file(path));
        }
        Ok(f.merge(Env::raw().only(PLAIN_ENV)).merge(Env::prefixed("ISPYB_").ignore(&["CONFIG", "TEST_DATABASE_URL"])))
    }

    /// Extracts and checks the settings.
    pub fn from_figment(f: Figment) -> Result<Self, ConfigError> {
        let config: Config = f.extract().map_err(|e| {
            let key = e.path.last().map(|k| k.to_uppercase()).unwrap_or_else(|| "configuration".into());
            // The value itself is left out: it may be a secret.
            ConfigError(format!("bad setting {key}: {}", e.kind))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self.api_root.starts_with('/') || self.api_root.ends_with('/') {
            return Err(ConfigError(format!(
                "bad setting API_ROOT: `{}` must start with / and not end with one",
                self.api_root
            )));
        }
        if !matches!(self.jwt_coding_algorithm.as_str(), "HS256" | "HS384" | "HS512") {
            return Err(ConfigError(format!(
                "bad setting JWT_CODING_ALGORITHM: `{}` is not supported (HS256, HS384 or HS512)",
                self.jwt_coding_algorithm
            )));
        }
        if self.token_exp_time == 0 || self.token_exp_time > 60 * 24 * 30 {
            return Err(ConfigError("bad setting TOKEN_EXP_TIME: minutes between 1 and 43200".into()));
        }
        if self.refresh_exp_time < self.token_exp_time {
            return Err(ConfigError("bad setting ISPYB_REFRESH_EXP_TIME: must be at least TOKEN_EXP_TIME".into()));
        }
        if self.login_max_failures == 0 || self.login_window_secs == 0 {
            return Err(ConfigError(
                "bad setting ISPYB_LOGIN_MAX_FAILURES / ISPYB_LOGIN_WINDOW_SECS: must be at least 1".into(),
            ));
        }
        if self.max_limit == 0 {
            return Err(ConfigError("bad setting ISPYB_MAX_LIMIT: must be at least 1".into()));
        }
        if self.database_pool == 0 {
            return Err(ConfigError("bad setting ISPYB_DATABASE_POOL: must be at least 1".into()));
        }
        if let Some(key) = &self.secret_key
            && key.expose_secret().len() < 16
        {
            return Err(ConfigError("bad setting SECRET_KEY: use at least 16 characters".into()));
        }
        Ok(())
    }

    /// The database URL from `DATABASE_URL` or `SQLALCHEMY_DATABASE_URI`.
    pub fn database_url(&self) -> Result<&SecretString, ConfigError> {
        self.database_url.as_ref().or(self.sqlalchemy_database_uri.as_ref()).ok_or_else(|| {
            ConfigError(
                "missing setting DATABASE_URL (or SQLALCHEMY_DATABASE_URI): mysql://user:password@host:3306/ispyb"
                    .into(),
            )
        })
    }

    /// The configured data roots, in order.
    pub fn data_roots(&self) -> Vec<PathBuf> {
        self.data_roots
            .as_deref()
            .unwrap_or_default()
            .split(':')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect()
    }

    /// The JWT key, required to serve.
    pub fn secret_key(&self) -> Result<&SecretString, ConfigError> {
        self.secret_key
            .as_ref()
            .ok_or_else(|| ConfigError("missing setting SECRET_KEY: the key that signs tokens".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_pairs(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut f = Figment::from(Serialized::defaults(DEFAULTS));
        for (k, v) in pairs {
            f = f.merge((k.to_string(), v.to_string()));
        }
        Config::from_figment(f)
    }

    #[test]
    fn defaults_are_py_ispyb_s() {
        let c = from_pairs(&[]).unwrap();
        assert_eq!(c.api_root, "/ispyb/api/v1");
        assert_eq!(c.token_exp_time, 300);
        assert!(!c.allow_dummy_auth);
    }

    #[test]
    fn bad_settings_name_themselves() {
        let e = from_pairs(&[("token_exp_time", "soon")]).unwrap_err();
        assert!(e.0.contains("TOKEN_EXP_TIME"), "{e}");
        let e = from_pairs(&[("jwt_coding_algorithm", "none")]).unwrap_err();
        assert!(e.0.contains("JWT_CODING_ALGORITHM"), "{e}");
        let e = from_pairs(&[("api_root", "api")]).unwrap_err();
        assert!(e.0.contains("API_ROOT"), "{e}");
        let e = from_pairs(&[("secret_key", "short")]).unwrap_err();
        assert!(e.0.contains("SECRET_KEY") && !e.0.contains("short"), "{e}");
    }

    #[test]
    fn sqlalchemy_uri_is_an_alias() {
        let c = from_pairs(&[("sqlalchemy_database_uri", "mysql+mysqlconnector://u:p@h/db")]).unwrap();
        assert_eq!(c.database_url().unwrap().expose_secret(), "mysql+mysqlconnector://u:p@h/db");
        assert!(from_pairs(&[]).unwrap().database_url().unwrap_err().0.contains("DATABASE_URL"));
    }

    #[test]
    fn yaml_keys_are_case_insensitive() {
        let c: std::collections::HashMap<String, String> = Yaml::from_str("API_ROOT: /x\ncors: 'true'\n").unwrap();
        assert_eq!(c["api_root"], "/x");
        assert_eq!(c["cors"], "true");
    }
}
