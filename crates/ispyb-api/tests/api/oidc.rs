//! The OIDC/Keycloak plugin against a mock provider (tests/oidc/mock-provider.mjs, started by
//! scripts/test.sh), through `POST /auth/login`. The provider's control API mints tokens with
//! chosen claims or keys and rotates the signing key.

use axum::http::{Method, StatusCode};
use ispyb_api::AppState;
use ispyb_api::auth::plugins::AuthPlugins;
use ispyb_db::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, config};

/// The mock provider's issuer (`http://127.0.0.1:<port>/realms/ispyb`); fails without it.
fn issuer() -> String {
    std::env::var("ISPYB_TEST_OIDC_ISSUER").unwrap_or_else(|_| {
        panic!(
            "ISPYB_TEST_OIDC_ISSUER is not set: run the tests with scripts/test.sh, which starts the mock OIDC provider"
        )
    })
}

/// The mock provider's control API.
fn control() -> String {
    std::env::var("ISPYB_TEST_OIDC_CONTROL").unwrap_or_else(|_| {
        panic!("ISPYB_TEST_OIDC_CONTROL is not set: run the tests with scripts/test.sh, which starts the mock OIDC provider")
    })
}

/// `KEYCLOAK_SERVER_URL` of the mock: the issuer without `/realms/ispyb`.
fn server_url() -> String {
    issuer().strip_suffix("/realms/ispyb").expect("the mock's realm is ispyb").to_string()
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An access token from the provider's token endpoint (password grant, client `ispyb`).
async fn password_grant(username: &str) -> String {
    let http = http();
    let discovery: Value =
        http.get(format!("{}/.well-known/openid-configuration", issuer())).send().await.unwrap().json().await.unwrap();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("client_id", "ispyb")
        .append_pair("username", username)
        .append_pair("password", "whatever")
        .finish();
    let res: Value = http
        .post(discovery["token_endpoint"].as_str().unwrap())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["access_token"].as_str().unwrap_or_else(|| panic!("no access token: {res}")).to_string()
}

/// A token from the control API (see the mock's header comment for the fields).
async fn mint(body: Value) -> String {
    let res: Value = http().post(format!("{}/mint", control())).json(&body).send().await.unwrap().json().await.unwrap();
    res["token"].as_str().unwrap_or_else(|| panic!("mint {body}: {res}")).to_string()
}

/// Makes the provider sign with a new key; returns its kid.
async fn rotate() -> String {
    let res: Value = http().post(format!("{}/rotate", control())).send().await.unwrap().json().await.unwrap();
    res["kid"].as_str().unwrap().to_string()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// py-ISPyB's Keycloak entry, pointing at the mock (or at `server` when given).
fn keycloak_yml(server: &str) -> String {
    format!(
        r#"
AUTH:
  - keycloak:
      ENABLED: true
      AUTH_MODULE: "pyispyb.app.extensions.auth.KeycloakDBGroupsAuthentication"
      AUTH_CLASS: "KeycloakAuthentication"
      CONFIG:
        KEYCLOAK_SERVER_URL: "{server}"
        KEYCLOAK_CLIENT_ID: "ispyb"
        KEYCLOAK_REALM_NAME: "ispyb"
        KEYCLOAK_CLIENT_SECRET_KEY: "client-secret-never-exported"
"#
    )
}

/// The generic form, with an explicit audience and optional extra CONFIG lines.
fn generic_yml(extra: &str) -> String {
    format!(
        r#"
AUTH:
  - sso:
      ENABLED: true
      KIND: oidc
      CONFIG:
        OIDC_ISSUER: "{}"
        OIDC_AUDIENCE: ["ispyb-api"]
        OIDC_CLIENT_ID: "ispyb"
{extra}"#,
        issuer()
    )
}

/// An app over the ISPyB test data whose plugins come from this `auth.yml` text.
async fn app_with_auth(auth_yml: &str) -> TestApp {
    let test_db = TestDb::ispyb().await;
    let plugins = AuthPlugins::from_yaml(auth_yml).unwrap_or_else(|e| panic!("{e}\n{auth_yml}"));
    // Many refused logins in a row are the point here, not the failed-login limit.
    let state = AppState::new(test_db.db.clone(), config(&[("login_max_failures", "1000")]), plugins).unwrap();
    TestApp { app: ispyb_api::app(state.clone()), state, test_db }
}

async fn login(app: &TestApp, plugin: &str, token: &str) -> Reply {
    app.request(Method::POST, "/ispyb/api/v1/auth/login", None, Some(json!({"plugin": plugin, "token": token}))).await
}

#[track_caller]
fn assert_refused(r: &Reply, what: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
    assert_eq!(r.json, json!({"detail": "Could not verify"}), "{what}");
}

#[tokio::test]
async fn keycloak_token_logs_in_and_the_ui_gets_the_keycloak_settings() {
    let app = app_with_auth(&keycloak_yml(&server_url())).await;
    let r = app.get("/auth/config", None).await;
    assert_eq!(
        r.json,
        json!({"plugins": [{"name": "keycloak", "config": {
            "KEYCLOAK_SERVER_URL": server_url(), "KEYCLOAK_CLIENT_ID": "ispyb", "KEYCLOAK_REALM_NAME": "ispyb"}}]})
    );
    assert!(!r.text.contains("client-secret-never-exported"));

    // A real token-endpoint token: aud "account", azp "ispyb" (Keycloak's shape).
    let r = login(&app, "keycloak", &password_grant("abcd").await).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["login"], "abcd");
    let me = app.get("/user/current", r.json["token"].as_str()).await;
    assert_eq!(me.json["login"], "abcd");

    let r = login(&app, "keycloak", &password_grant("efgh").await).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["permissions"], json!(["bl_staff", "uportal_sync"]));

    // Within the 30 s leeway an expired token still passes; an ES256 key works too.
    let r = login(&app, "keycloak", &mint(json!({"expires_in": -10})).await).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = login(&app, "keycloak", &mint(json!({"key": "ec"})).await).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // Unknown persons are refused as with any plugin.
    let r = login(&app, "keycloak", &password_grant("kcnew").await).await;
    assert_eq!(r.json, json!({"detail": "User does not exist in database."}));
    app.finish().await;
}

#[tokio::test]
async fn keycloak_bad_tokens_are_401() {
    let app = app_with_auth(&keycloak_yml(&server_url())).await;
    let good = password_grant("abcd").await;
    assert_eq!(login(&app, "keycloak", &good).await.status, StatusCode::CREATED);
    let current_kid = kid_of(&good);
    let mut tampered = good.clone();
    let dot = tampered.rfind('.').unwrap();
    tampered.replace_range(dot - 4..dot, "AAAA"); // payload changed, signature kept

    let now = chrono::Utc::now().timestamp();
    let cases = [
        (mint(json!({"expires_in": -120})).await, "expired"),
        (mint(json!({"claims": {"exp": null}})).await, "no exp"),
        (mint(json!({"claims": {"nbf": now + 600}})).await, "not yet valid"),
        (mint(json!({"claims": {"aud": "other-service", "azp": "other-client"}})).await, "wrong audience"),
        (mint(json!({"claims": {"aud": "account", "azp": "other-client"}})).await, "another client's token"),
        (mint(json!({"claims": {"azp": null}})).await, "no azp and aud account"),
        (mint(json!({"claims": {"iss": "http://127.0.0.1:1/realms/evil"}})).await, "wrong issuer"),
        (mint(json!({"claims": {"iss": null}})).await, "no issuer"),
        (mint(json!({"key": "stranger", "kid": current_kid})).await, "bad signature (another key, known kid)"),
        (mint(json!({"key": "stranger", "kid": null})).await, "no kid, another key"),
        (mint(json!({"alg": "none"})).await, "alg none"),
        (mint(json!({"alg": "HS256"})).await, "HS256 signed with the RSA public key"),
        (mint(json!({"alg": "PS256"})).await, "PS256 with a key published for RS256"),
        (mint(json!({"claims": {"preferred_username": null}})).await, "no preferred_username"),
        (tampered, "tampered payload"),
        ("not-a-jwt".to_string(), "garbage"),
        (String::new(), "empty token"),
    ];
    for (token, what) in &cases {
        assert_refused(&login(&app, "keycloak", token).await, what);
    }
    let r = app
        .request(
            Method::POST,
            "/ispyb/api/v1/auth/login",
            None,
            Some(json!({"plugin": "keycloak", "login": "abcd", "password": "x"})),
        )
        .await;
    assert_refused(&r, "login and password to a token plugin");
    app.finish().await;
}

#[tokio::test]
async fn keycloak_unknown_kid_is_401_and_refetches_keys_at_most_every_30_s() {
    let app = app_with_auth(&keycloak_yml(&server_url())).await;
    assert_eq!(login(&app, "keycloak", &password_grant("abcd").await).await.status, StatusCode::CREATED);
    // The first unknown kid makes the plugin fetch the keys again; the key is still unknown.
    assert_refused(&login(&app, "keycloak", &mint(json!({"key": "stranger"})).await).await, "unknown kid");
    // The next ones, within 30 s, do not fetch again (no stampede) and are refused at once.
    for kid in ["x1", "x2", "x3"] {
        assert_refused(&login(&app, "keycloak", &mint(json!({"key": "stranger", "kid": kid})).await).await, kid);
    }
    app.finish().await;
}

#[tokio::test]
async fn keycloak_key_rotation_is_picked_up() {
    let app = app_with_auth(&keycloak_yml(&server_url())).await;
    // Keys are fetched and cached.
    assert_eq!(login(&app, "keycloak", &password_grant("abcd").await).await.status, StatusCode::CREATED);
    let new_kid = rotate().await;
    let token = password_grant("abcd").await;
    assert_eq!(kid_of(&token), new_kid, "the provider signs with its new key");
    // Unknown kid → the keys are fetched again → accepted.
    let r = login(&app, "keycloak", &token).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.finish().await;
}

#[tokio::test]
async fn oidc_provider_down_is_503_and_does_not_stop_start_up() {
    // Building the app does not contact the provider.
    let app = app_with_auth(&keycloak_yml(&format!("http://127.0.0.1:{}", dead_port()))).await;
    let token = password_grant("abcd").await;
    let r = login(&app, "keycloak", &token).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"detail": "Authentication service unavailable: cannot reach the OIDC provider (discovery document)"})
    );
    // Tokens refused on their header alone do not need the provider.
    assert_refused(&login(&app, "keycloak", &mint(json!({"alg": "none"})).await).await, "alg none");
    assert_refused(&login(&app, "keycloak", &mint(json!({"alg": "HS256"})).await).await, "HS256");
    app.finish().await;
}

#[tokio::test]
async fn oidc_generic_config_checks_the_configured_audience() {
    let app = app_with_auth(&generic_yml("")).await;
    assert_eq!(
        app.get("/auth/config", None).await.json,
        json!({"plugins": [{"name": "sso", "config": {"OIDC_ISSUER": issuer(), "OIDC_CLIENT_ID": "ispyb"}}]})
    );
    for (claims, what) in [
        (json!({"aud": "ispyb-api", "azp": "other-client"}), "aud is the API"),
        (json!({"aud": ["other", "ispyb-api"], "azp": "other-client"}), "aud list with the API"),
        (json!({"aud": "account", "azp": "ispyb"}), "azp is our client"),
    ] {
        let r = login(&app, "sso", &mint(json!({"claims": claims})).await).await;
        assert_eq!(r.status, StatusCode::CREATED, "{what}: {}", r.text);
    }
    assert_refused(
        &login(&app, "sso", &mint(json!({"claims": {"aud": ["other"], "azp": "other-client"}})).await).await,
        "neither",
    );
    app.finish().await;

    // With OIDC_ACCEPT_AZP off, only `aud` counts.
    let app = app_with_auth(&generic_yml("        OIDC_ACCEPT_AZP: false\n")).await;
    assert_refused(&login(&app, "sso", &password_grant("abcd").await).await, "azp only");
    app.finish().await;
}

#[tokio::test]
async fn oidc_userinfo_mode_takes_names_from_the_userinfo_endpoint() {
    let app = app_with_auth(&generic_yml("        OIDC_USE_USERINFO: true\n")).await;
    sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('create_person_on_missing', 'true')")
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    // The token carries no names: they can only come from userinfo.
    let token =
        mint(json!({"username": "kcnew", "claims": {"given_name": null, "family_name": null, "email": null}})).await;
    let r = login(&app, "sso", &token).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["login"], "kcnew");
    let names: (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("SELECT givenName, familyName, emailAddress FROM Person WHERE login = 'kcnew'")
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
    assert_eq!(names, (Some("Grace".into()), Some("Hopper".into()), Some("grace@ispyb.test".into())));
    // Still validated offline first: a bad token never reaches userinfo.
    assert_refused(&login(&app, "sso", &mint(json!({"expires_in": -120})).await).await, "expired");
    app.finish().await;
}
