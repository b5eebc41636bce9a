//! The OpenID Connect plugin (Keycloak or any OIDC provider), a "token" plugin: the login body
//! carries an access token issued by the provider, which is checked **offline** against the
//! provider's published keys (JWKS).
//!
//! - Keys: discovery (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) happens lazily
//!   at the first login, so a provider that is down does not stop the server from starting.
//!   Keys are kept in an [`ArcSwapOption`] and refreshed after [`KEYS_TTL`], and when a token
//!   names an unknown `kid` at most every [`UNKNOWN_KID_REFRESH`]; fetches are single-flight
//!   (one at a time, waiters reuse the result), so key rotation works without a stampede.
//! - Checks: signature with a fixed allow-list of asymmetric algorithms (RS*, PS*, ES256,
//!   ES384: never `none` nor HS*, so an RSA public key can never be used as an HMAC secret),
//!   the key's own `alg`/`use` when the JWKS states them, `iss`, `exp` and `nbf` with a leeway,
//!   and the audience: `aud` contains an accepted audience, or `azp` is our client id (Keycloak
//!   access tokens often carry `aud: account` and the client in `azp`).
//! - Identity: login from `preferred_username` (or `OIDC_USERNAME_CLAIM`), names and e-mail from
//!   `given_name`, `family_name`, `email`; optionally from the userinfo endpoint, as py-ISPyB's
//!   Keycloak plugin did (`OIDC_USE_USERINFO: true`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Map, Value};

use super::plugins::{AuthError, AuthFuture, Authenticator, Credentials, Identity};
use crate::config::ConfigError;

/// How long fetched keys are used before they are fetched again.
pub const KEYS_TTL: Duration = Duration::from_secs(10 * 60);
/// Minimum time between two fetches caused by tokens naming an unknown `kid`.
pub const UNKNOWN_KID_REFRESH: Duration = Duration::from_secs(30);
/// After a failed fetch, logins fail fast for this long instead of each waiting for the provider.
const FAILURE_BACKOFF: Duration = Duration::from_secs(2);
/// When a refresh fails but keys are known, they are kept and a new fetch is tried after this.
const STALE_RETRY: Duration = Duration::from_secs(30);
/// Tokens longer than this are refused without parsing.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The only signature algorithms accepted, whatever a token's header says.
pub const ALLOWED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Keys this plugin reads from its `CONFIG` mapping (others are warned about).
const KNOWN_KEYS: &[&str] = &[
    "KEYCLOAK_SERVER_URL",
    "KEYCLOAK_REALM_NAME",
    "KEYCLOAK_CLIENT_ID",
    "KEYCLOAK_CLIENT_SECRET_KEY",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_AUDIENCE",
    "OIDC_ACCEPT_AZP",
    "OIDC_USERNAME_CLAIM",
    "OIDC_USE_USERINFO",
    "OIDC_JWKS_URI",
    "OIDC_TIMEOUT_SECONDS",
    "OIDC_LEEWAY_SECONDS",
];

/// One verification key from the provider's JWKS.
struct VerifyKey {
    kid: Option<String>,
    /// The algorithm the JWKS pins the key to, if it says.
    alg: Option<Algorithm>,
    family: jsonwebtoken::AlgorithmFamily,
    key: DecodingKey,
}

/// A fetched key set.
struct KeySet {
    keys: Arc<Vec<VerifyKey>>,
    /// After this, the keys are fetched again (on the next login).
    refresh_after: Instant,
    /// Counts fetches, so waiters can tell whether someone refreshed while they waited.
    generation: u64,
}

impl KeySet {
    /// The key for this header, or `None` when the set has no key for its `kid`.
    fn find(&self, header: &Header) -> Result<Option<&VerifyKey>, Reject> {
        let key = match &header.kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str())),
            None => {
                // Without a kid, only an unambiguous key of the right type is used.
                let mut fitting = self.keys.iter().filter(|k| k.family == header.alg.family());
                match (fitting.next(), fitting.next()) {
                    (Some(k), None) => Some(k),
                    (None, _) => None,
                    (Some(_), Some(_)) => return Err(Reject("no kid and several possible keys")),
                }
            }
        };
        let Some(key) = key else { return Ok(None) };
        if key.family != header.alg.family() || key.alg.is_some_and(|a| a != header.alg) {
            return Err(Reject("algorithm does not match the key"));
        }
        Ok(Some(key))
    }
}

/// What the discovery document told us.
struct Provider {
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
}

/// Bookkeeping of fetches, behind the single-flight lock.
#[derive(Default)]
struct FetchState {
    generation: u64,
    last_unknown_kid_fetch: Option<Instant>,
    last_failure: Option<(Instant, String)>,
}

/// Why a token was refused (logged, never sent to the client).
#[derive(Debug)]
struct Reject(&'static str);

/// Token plugin validating OIDC access tokens against the provider's JWKS.
pub struct Oidc {
    name: String,
    issuer: String,
    discovery_url: String,
    jwks_uri: Option<String>,
    audiences: Vec<String>,
    client_id: Option<String>,
    accept_azp: bool,
    username_claim: String,
    use_userinfo: bool,
    leeway: u64,
    exported: Map<String, Value>,
    http: reqwest::Client,
    provider: ArcSwapOption<Provider>,
    keys: ArcSwapOption<KeySet>,
    fetch: tokio::sync::Mutex<FetchState>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Reads typed values out of a plugin's `CONFIG` mapping, with errors naming plugin and key.
struct Conf<'a> {
    plugin: &'a str,
    map: Map<String, Value>,
}

impl<'a> Conf<'a> {
    fn new(plugin: &'a str, config: &Value) -> Result<Self, ConfigError> {
        let map = match config {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            _ => return Err(ConfigError(format!("auth plugin `{plugin}`: CONFIG must be a mapping"))),
        };
        for key in map.keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                tracing::warn!(plugin, key = key.as_str(), "unknown OIDC plugin setting ignored");
            }
        }
        Ok(Self { plugin, map })
    }

    fn err(&self, key: &str, what: &str) -> ConfigError {
        ConfigError(format!("auth plugin `{}` (oidc): {key} {what}", self.plugin))
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.map.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    _ => Err(self.err(key, "must be a string or a list of strings")),
                })
                .collect(),
            _ => Ok(self.string(key)?.into_iter().collect()),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(true),
                "false" | "no" | "off" | "0" => Ok(false),
                _ => Err(self.err(key, "must be true or false")),
            },
            Some(_) => Err(self.err(key, "must be true or false")),
        }
    }

    fn u64(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| self.err(key, "must be whole seconds")),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| self.err(key, "must be whole seconds")),
            Some(_) => Err(self.err(key, "must be whole seconds")),
        }
    }

    fn http_url(&self, key: &str, value: &str) -> Result<url::Url, ConfigError> {
        let url = url::Url::parse(value).map_err(|e| self.err(key, &format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self.err(key, "must be an http:// or https:// URL"));
        }
        if url.scheme() == "http" && !is_loopback(&url) {
            tracing::warn!(plugin = self.plugin, key, "the OIDC provider is reached over plain http");
        }
        Ok(url)
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The allowed signature algorithm a JWKS `alg` names, `Err` for any other one.
fn key_algorithm(alg: KeyAlgorithm) -> Result<Algorithm, ()> {
    let a = match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        _ => return Err(()),
    };
    Ok(a)
}

/// The usable signature keys of a JWKS document. Symmetric (`oct`) keys, encryption keys and
/// keys for algorithms outside the allow-list are skipped.
fn parse_jwks(doc: &Value) -> Vec<VerifyKey> {
    let Some(items) = doc.get("keys").and_then(Value::as_array) else { return Vec::new() };
    let mut keys = Vec::new();
    for item in items {
        let Ok(jwk) = serde_json::from_value::<Jwk>(item.clone()) else { continue };
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let family = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => jsonwebtoken::AlgorithmFamily::Rsa,
            AlgorithmParameters::EllipticCurve(_) => jsonwebtoken::AlgorithmFamily::Ec,
            _ => continue,
        };
        let alg = match jwk.common.key_algorithm.map(key_algorithm) {
            None => None,
            Some(Ok(a)) => Some(a),
            Some(Err(())) => continue,
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else { continue };
        keys.push(VerifyKey { kid: jwk.common.key_id.clone(), alg, family, key });
    }
    keys
}

/// An error and its causes, on one line (reqwest's own message hides the cause).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

impl Oidc {
    /// Builds the plugin from its `CONFIG` mapping. No network I/O: the provider is first
    /// contacted at the first login.
    pub fn from_config(name: &str, config: &Value) -> Result<Self, ConfigError> {
        let c = Conf::new(name, config)?;
        let server = c.string("KEYCLOAK_SERVER_URL")?;
        let realm = c.string("KEYCLOAK_REALM_NAME")?;
        let kc_client = c.string("KEYCLOAK_CLIENT_ID")?;
        // Accepted for py-ISPyB compatibility; offline validation needs no client secret, and
        // it is never exported.
        let _ = c.string("KEYCLOAK_CLIENT_SECRET_KEY")?;
        let issuer = match (c.string("OIDC_ISSUER")?, &server, &realm) {
            (Some(issuer), _, _) => issuer,
            (None, Some(server), Some(realm)) => {
                c.http_url("KEYCLOAK_SERVER_URL", server)?;
                format!("{}/realms/{}", server.trim_end_matches('/'), realm)
            }
            (None, Some(_), None) => return Err(c.err("KEYCLOAK_REALM_NAME", "is missing")),
            (None, None, Some(_)) => return Err(c.err("KEYCLOAK_SERVER_URL", "is missing")),
            (None, None, None) => {
                return Err(c.err("OIDC_ISSUER", "is missing (or KEYCLOAK_SERVER_URL and KEYCLOAK_REALM_NAME)"));
            }
        };
        let issuer = issuer.trim_end_matches('/').to_string();
        c.http_url(if c.map.contains_key("OIDC_ISSUER") { "OIDC_ISSUER" } else { "KEYCLOAK_SERVER_URL" }, &issuer)?;
        let client_id = c.string("OIDC_CLIENT_ID")?.or(kc_client.clone());
        let mut audiences = c.strings("OIDC_AUDIENCE")?;
        if audiences.is_empty() {
            audiences.extend(client_id.clone());
        }
        if audiences.is_empty() {
            return Err(c.err("OIDC_AUDIENCE", "is missing (or OIDC_CLIENT_ID / KEYCLOAK_CLIENT_ID)"));
        }
        let jwks_uri = c.string("OIDC_JWKS_URI")?;
        if let Some(u) = &jwks_uri {
            c.http_url("OIDC_JWKS_URI", u)?;
        }
        let timeout = c.u64("OIDC_TIMEOUT_SECONDS", 5)?;
        if timeout == 0 {
            return Err(c.err("OIDC_TIMEOUT_SECONDS", "must be at least 1"));
        }
        let leeway = c.u64("OIDC_LEEWAY_SECONDS", 30)?;
        if leeway > 300 {
            return Err(c.err("OIDC_LEEWAY_SECONDS", "must be at most 300"));
        }
        let mut exported = Map::new();
        match (&server, &realm, &kc_client) {
            (Some(server), Some(realm), Some(client)) => {
                exported.insert("KEYCLOAK_SERVER_URL".into(), server.clone().into());
                exported.insert("KEYCLOAK_CLIENT_ID".into(), client.clone().into());
                exported.insert("KEYCLOAK_REALM_NAME".into(), realm.clone().into());
            }
            _ => {
                exported.insert("OIDC_ISSUER".into(), issuer.clone().into());
                if let Some(client) = &client_id {
                    exported.insert("OIDC_CLIENT_ID".into(), client.clone().into());
                }
            }
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout))
            .connect_timeout(Duration::from_secs(timeout))
            .user_agent(concat!("ispyb-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError(format!("auth plugin `{name}` (oidc): cannot build an HTTP client: {}", chain(&e)))
            })?;
        Ok(Self {
            name: name.to_string(),
            discovery_url: format!("{issuer}/.well-known/openid-configuration"),
            issuer,
            jwks_uri,
            audiences,
            client_id,
            accept_azp: c.bool("OIDC_ACCEPT_AZP", true)?,
            username_claim: c.string("OIDC_USERNAME_CLAIM")?.unwrap_or_else(|| "preferred_username".into()),
            use_userinfo: c.bool("OIDC_USE_USERINFO", false)?,
            leeway,
            exported,
            http,
            provider: ArcSwapOption::empty(),
            keys: ArcSwapOption::empty(),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
        })
    }

    /// The expected `iss` of tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn unavailable(&self, what: &str, detail: String) -> AuthError {
        tracing::warn!(plugin = self.name, issuer = self.issuer, error = detail.as_str(), "{what}");
        AuthError::Unavailable(what.to_string())
    }

    async fn get_json(&self, url: &str, what: &str, bearer: Option<&str>) -> Result<Value, AuthError> {
        let mut req = self.http.get(url).header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.map_err(|e| {
            self.unavailable(&format!("cannot reach the OIDC provider ({what})"), format!("{url}: {}", chain(&e)))
        })?;
        let status = res.status();
        if bearer.is_some() && matches!(status.as_u16(), 401 | 403) {
            return Err(AuthError::InvalidCredentials);
        }
        if !status.is_success() {
            return Err(
                self.unavailable(&format!("the OIDC provider answered HTTP {} ({what})", status.as_u16()), url.into())
            );
        }
        res.json::<Value>().await.map_err(|e| {
            self.unavailable(&format!("the OIDC provider sent an unreadable {what}"), format!("{url}: {}", chain(&e)))
        })
    }

    /// The discovery document, fetched once.
    async fn provider(&self) -> Result<Arc<Provider>, AuthError> {
        if let Some(p) = self.provider.load_full() {
            return Ok(p);
        }
        let doc = self.get_json(&self.discovery_url, "discovery document", None).await?;
        let str_field = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
        let Some(jwks_uri) = str_field("jwks_uri") else {
            return Err(self.unavailable("the OIDC discovery document has no jwks_uri", self.discovery_url.clone()));
        };
        if let Some(iss) = str_field("issuer")
            && iss.trim_end_matches('/') != self.issuer
        {
            tracing::warn!(
                plugin = self.name,
                configured = self.issuer,
                advertised = iss,
                "the provider advertises another issuer; tokens must carry the configured one"
            );
        }
        let p = Arc::new(Provider { jwks_uri, userinfo_endpoint: str_field("userinfo_endpoint") });
        self.provider.store(Some(p.clone()));
        Ok(p)
    }

    /// Fetches the JWKS and stores it; call with the fetch lock held.
    async fn fetch_keys(&self, state: &mut FetchState) -> Result<Arc<KeySet>, AuthError> {
        if let Some((at, why)) = &state.last_failure
            && at.elapsed() < FAILURE_BACKOFF
        {
            return Err(AuthError::Unavailable(why.clone()));
        }
        let outcome = async {
            let uri = match &self.jwks_uri {
                Some(u) => u.clone(),
                None => self.provider().await?.jwks_uri.clone(),
            };
            let doc = self.get_json(&uri, "key set", None).await?;
            let keys = parse_jwks(&doc);
            if keys.is_empty() {
                return Err(self.unavailable("the OIDC provider publishes no usable signature key", uri));
            }
            Ok(keys)
        }
        .await;
        match outcome {
            Ok(keys) => {
                state.generation += 1;
                state.last_failure = None;
                tracing::debug!(plugin = self.name, count = keys.len(), "OIDC keys fetched");
                let set = Arc::new(KeySet {
                    keys: Arc::new(keys),
                    refresh_after: Instant::now() + KEYS_TTL,
                    generation: state.generation,
                });
                self.keys.store(Some(set.clone()));
                Ok(set)
            }
            Err(e) => {
                if let AuthError::Unavailable(why) = &e {
                    state.last_failure = Some((Instant::now(), why.clone()));
                }
                Err(e)
            }
        }
    }

    /// The current keys, fetched when missing or older than [`KEYS_TTL`].
    async fn current_keys(&self) -> Result<Arc<KeySet>, AuthError> {
        if let Some(set) = self.keys.load_full()
            && Instant::now() < set.refresh_after
        {
            return Ok(set);
        }
        let mut state = self.fetch.lock().await;
        let stale = self.keys.load_full();
        if let Some(set) = &stale
            && Instant::now() < set.refresh_after
        {
            return Ok(set.clone()); // refreshed while we waited
        }
        match self.fetch_keys(&mut state).await {
            Ok(set) => Ok(set),
            Err(e) => match stale {
                // Keep verifying with the keys we have; try again a little later.
                Some(set) => {
                    tracing::warn!(plugin = self.name, error = %e, "OIDC key refresh failed; keeping the previous keys");
                    let kept = Arc::new(KeySet {
                        keys: set.keys.clone(),
                        refresh_after: Instant::now() + STALE_RETRY,
                        generation: set.generation,
                    });
                    self.keys.store(Some(kept.clone()));
                    Ok(kept)
                }
                None => Err(e),
            },
        }
    }
}

impl Oidc {
    /// Fetches the keys again because a token names a `kid` we do not know, at most every
    /// [`UNKNOWN_KID_REFRESH`]. `None` when rate-limited.
    async fn keys_after_unknown_kid(&self, seen_generation: u64) -> Result<Option<Arc<KeySet>>, AuthError> {
        let mut state = self.fetch.lock().await;
        if let Some(set) = self.keys.load_full()
            && set.generation != seen_generation
        {
            return Ok(Some(set)); // fetched while we waited
        }
        if state.last_unknown_kid_fetch.is_some_and(|at| at.elapsed() < UNKNOWN_KID_REFRESH) {
            return Ok(None);
        }
        state.last_unknown_kid_fetch = Some(Instant::now());
        self.fetch_keys(&mut state).await.map(Some)
    }

    fn reject(&self, reason: &str) -> AuthError {
        tracing::info!(plugin = self.name, reason, "OIDC token refused");
        AuthError::InvalidCredentials
    }

    /// Checks the token's signature and claims; returns the claims.
    async fn verify(&self, token: &str) -> Result<Map<String, Value>, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(self.reject("token too long"));
        }
        // `alg: none` does not even parse: jsonwebtoken has no such algorithm.
        let header = jsonwebtoken::decode_header(token).map_err(|_| self.reject("unreadable header or algorithm"))?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(self.reject("algorithm not allowed"));
        }
        let mut set = self.current_keys().await?;
        if set.find(&header).map_err(|r| self.reject(r.0))?.is_none() {
            match self.keys_after_unknown_kid(set.generation).await? {
                Some(newer) => set = newer,
                None => return Err(self.reject("unknown kid (key refresh rate-limited)")),
            }
        }
        let Some(key) = set.find(&header).map_err(|r| self.reject(r.0))? else {
            return Err(self.reject("unknown kid"));
        };
        // A single algorithm: the header's, already checked against the allow-list and the key.
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false; // `aud` or `azp`, checked below
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        let claims = match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
            Ok(data) => data.claims,
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind as K;
                let reason = match e.kind() {
                    K::ExpiredSignature => "expired",
                    K::ImmatureSignature => "not yet valid (nbf)",
                    K::InvalidIssuer => "wrong issuer",
                    K::InvalidSignature => "bad signature",
                    K::MissingRequiredClaim(_) => "missing exp or iss",
                    K::InvalidAlgorithm => "algorithm does not match the key",
                    _ => "invalid token",
                };
                return Err(self.reject(reason));
            }
        };
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => self.audiences.contains(a),
            Some(Value::Array(items)) => {
                items.iter().filter_map(Value::as_str).any(|a| self.audiences.iter().any(|x| x == a))
            }
            _ => false,
        };
        let azp_ok = self.accept_azp
            && self.client_id.is_some()
            && claims.get("azp").and_then(Value::as_str) == self.client_id.as_deref();
        if !audience_ok && !azp_ok {
            return Err(self.reject("wrong audience"));
        }
        Ok(claims)
    }

    /// The userinfo document for this (already verified) token.
    async fn userinfo(&self, token: &str, claims: &Map<String, Value>) -> Result<Map<String, Value>, AuthError> {
        let provider = self.provider().await?;
        let Some(endpoint) = &provider.userinfo_endpoint else {
            return Err(self.unavailable("the OIDC provider has no userinfo endpoint", self.discovery_url.clone()));
        };
        let Value::Object(info) = self.get_json(endpoint, "userinfo", Some(token)).await? else {
            return Err(self.unavailable("the OIDC provider sent an unreadable userinfo", endpoint.clone()));
        };
        // OpenID Connect Core §5.3.2: the userinfo `sub` must be the token's.
        if let Some(sub) = claims.get("sub")
            && info.get("sub") != Some(sub)
        {
            return Err(self.reject("userinfo is about another subject"));
        }
        Ok(info)
    }

    async fn check(&self, token: &str) -> Result<Identity, AuthError> {
        let claims = self.verify(token).await?;
        let info = if self.use_userinfo { Some(self.userinfo(token, &claims).await?) } else { None };
        let claim = |k: &str| -> Option<String> {
            let text = |m: &Map<String, Value>| {
                m.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
            };
            info.as_ref().and_then(text).or_else(|| text(&claims))
        };
        let Some(login) = claim(&self.username_claim) else {
            return Err(self.reject("no username claim"));
        };
        Ok(Identity {
            login,
            given_name: claim("given_name"),
            family_name: claim("family_name"),
            email: claim("email"),
        })
    }
}

impl Authenticator for Oidc {
    fn authenticate<'a>(&'a self, credentials: &'a Credentials) -> AuthFuture<'a> {
        Box::pin(async move {
            let token = credentials.token.as_deref().map(str::trim).unwrap_or_default();
            let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
            if token.is_empty() {
                return Err(AuthError::InvalidCredentials);
            }
            self.check(token).await
        })
    }

    fn exported_config(&self) -> Map<String, Value> {
        self.exported.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keycloak() -> Value {
        json!({"KEYCLOAK_SERVER_URL": "https://sso.example.org/", "KEYCLOAK_REALM_NAME": "esrf",
               "KEYCLOAK_CLIENT_ID": "ispyb", "KEYCLOAK_CLIENT_SECRET_KEY": "s3cret"})
    }

    #[test]
    fn keycloak_settings_give_the_issuer_and_the_ui_settings_but_never_the_secret() {
        let p = Oidc::from_config("keycloak", &keycloak()).unwrap();
        assert_eq!(p.issuer(), "https://sso.example.org/realms/esrf");
        assert_eq!(p.discovery_url, "https://sso.example.org/realms/esrf/.well-known/openid-configuration");
        assert_eq!(p.audiences, ["ispyb"]);
        assert_eq!(p.client_id.as_deref(), Some("ispyb"));
        assert_eq!(
            Value::Object(p.exported_config()),
            json!({"KEYCLOAK_SERVER_URL": "https://sso.example.org/", "KEYCLOAK_CLIENT_ID": "ispyb", "KEYCLOAK_REALM_NAME": "esrf"})
        );
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    #[test]
    fn generic_settings_and_missing_ones() {
        let p = Oidc::from_config(
            "sso",
            &json!({"OIDC_ISSUER": "https://id.example.org/", "OIDC_AUDIENCE": ["ispyb-api", "ispyb"], "OIDC_CLIENT_ID": "ui"}),
        )
        .unwrap();
        assert_eq!(p.issuer(), "https://id.example.org");
        assert_eq!(p.audiences, ["ispyb-api", "ispyb"]);
        assert_eq!(
            Value::Object(p.exported_config()),
            json!({"OIDC_ISSUER": "https://id.example.org", "OIDC_CLIENT_ID": "ui"})
        );
        for (config, key) in [
            (json!({}), "OIDC_ISSUER"),
            (json!({"KEYCLOAK_SERVER_URL": "https://x"}), "KEYCLOAK_REALM_NAME"),
            (json!({"OIDC_ISSUER": "https://x"}), "OIDC_AUDIENCE"),
            (json!({"OIDC_ISSUER": "ftp://x", "OIDC_CLIENT_ID": "c"}), "OIDC_ISSUER"),
            (
                json!({"OIDC_ISSUER": "https://x", "OIDC_CLIENT_ID": "c", "OIDC_USE_USERINFO": "maybe"}),
                "OIDC_USE_USERINFO",
            ),
        ] {
            let e = Oidc::from_config("sso", &config).unwrap_err();
            assert!(e.0.contains("`sso`") && e.0.contains(key), "{config}: {e}");
        }
    }

    #[test]
    fn only_asymmetric_signature_keys_are_taken_from_a_jwks() {
        let n = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
        let jwks = json!({"keys": [
            {"kty": "RSA", "kid": "sig", "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "alg": "RSA-OAEP", "n": n, "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "any", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "broken"}
        ]});
        let keys = parse_jwks(&jwks);
        assert_eq!(keys.iter().map(|k| k.kid.as_deref().unwrap()).collect::<Vec<_>>(), ["sig", "any"]);
        let set = KeySet { keys: Arc::new(keys), refresh_after: Instant::now(), generation: 1 };
        let header = |alg, kid: Option<&str>| {
            let mut h = Header::new(alg);
            h.kid = kid.map(Into::into);
            h
        };
        assert!(set.find(&header(Algorithm::RS256, Some("sig"))).unwrap().is_some());
        assert!(set.find(&header(Algorithm::RS256, Some("hmac"))).unwrap().is_none());
        assert!(set.find(&header(Algorithm::PS256, Some("sig"))).is_err(), "the key is pinned to RS256");
        assert!(set.find(&header(Algorithm::PS256, Some("any"))).unwrap().is_some());
        assert!(set.find(&header(Algorithm::ES256, Some("sig"))).is_err());
        assert!(set.find(&header(Algorithm::RS256, None)).is_err(), "two RSA keys and no kid");
    }

    #[tokio::test]
    async fn none_and_hmac_tokens_are_refused_before_any_key_fetch() {
        // Nothing listens on port 1: had the plugin tried to fetch keys, this would be Unavailable.
        let p = Oidc::from_config("sso", &json!({"OIDC_ISSUER": "http://127.0.0.1:1", "OIDC_CLIENT_ID": "c"})).unwrap();
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOiJhYmNkIn0.";
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"preferred_username": "abcd", "exp": 4_000_000_000u64}),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        for token in [none, hs256.as_str(), "", "not.a.token"] {
            let c = Credentials { token: Some(token.into()), ..Default::default() };
            assert!(matches!(p.authenticate(&c).await, Err(AuthError::InvalidCredentials)), "{token}");
        }
    }

    fn b64url(data: &[u8]) -> String {
        const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    }

    /// A provider serving discovery and a one-key JWKS on loopback, counting JWKS fetches.
    async fn counting_provider() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let (b, f) = (base.clone(), fetches.clone());
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || {
                    let b = b.clone();
                    async move { axum::Json(json!({"issuer": b, "jwks_uri": format!("{b}/jwks")})) }
                }),
            )
            .route(
                "/jwks",
                axum::routing::get(move || {
                    f.fetch_add(1, Ordering::SeqCst);
                    async { axum::Json(json!({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": "sXchDaQebHnP", "e": "AQAB"}]})) }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, fetches)
    }

    #[tokio::test]
    async fn unknown_kids_refetch_keys_once_per_interval_even_when_concurrent() {
        use std::sync::atomic::Ordering;
        let (issuer, fetches) = counting_provider().await;
        let p = Arc::new(Oidc::from_config("sso", &json!({"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "c"})).unwrap());
        assert_eq!(fetches.load(Ordering::SeqCst), 0, "building the plugin fetches nothing");
        let token = |kid: &str| {
            let header = b64url(json!({"alg": "RS256", "kid": kid}).to_string().as_bytes());
            let claims = b64url(json!({"iss": issuer, "exp": 4_000_000_000u64, "aud": "c"}).to_string().as_bytes());
            format!("{header}.{claims}.c2ln")
        };
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (p, t) = (p.clone(), token(&format!("unknown-{i}")));
                tokio::spawn(async move {
                    let c = Credentials { token: Some(t), ..Default::default() };
                    matches!(p.authenticate(&c).await, Err(AuthError::InvalidCredentials))
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        // One fetch to load the keys, one for the first unknown kid; the others waited or were
        // rate-limited.
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // A known kid with a bad signature needs no fetch.
        let c = Credentials { token: Some(token("k1")), ..Default::default() };
        assert!(matches!(p.authenticate(&c).await, Err(AuthError::InvalidCredentials)));
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }
}
