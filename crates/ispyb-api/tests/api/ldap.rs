//! The LDAP plugin against a real slapd (started by scripts/test.sh; entries in
//! scripts/test-services.sh `start_slapd`), through `POST /auth/login`.

use axum::http::{Method, StatusCode};
use ispyb_api::AppState;
use ispyb_api::auth::plugins::AuthPlugins;
use ispyb_db::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, config};

const BASE: &str = "ou=People,dc=ispyb,dc=test";
const SEARCH_DN: &str = "cn=ispyb-search,ou=Services,dc=ispyb,dc=test";

/// The test slapd's URI; the test fails (never skips) without it.
fn ldap_uri() -> String {
    std::env::var("ISPYB_TEST_LDAP_URI").unwrap_or_else(|_| {
        panic!("ISPYB_TEST_LDAP_URI is not set: run the tests with scripts/test.sh, which starts a test slapd")
    })
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An app over the ISPyB test data whose plugins come from this `auth.yml` text.
async fn app_with_auth(auth_yml: &str) -> TestApp {
    let test_db = TestDb::ispyb().await;
    let plugins = AuthPlugins::from_yaml(auth_yml).unwrap_or_else(|e| panic!("{e}\n{auth_yml}"));
    // Many refused logins in a row are the point here, not the failed-login limit.
    let state = AppState::new(test_db.db.clone(), config(&[("login_max_failures", "1000")]), plugins).unwrap();
    TestApp { app: ispyb_api::app(state.clone()), state, test_db }
}

/// py-ISPyB's LDAP entry (bind DN `uid={login},{base}`), plus extra CONFIG lines.
fn template_yml(uri: &str, extra: &str) -> String {
    format!(
        r#"
AUTH:
  - ldap:
      ENABLED: true
      AUTH_MODULE: "pyispyb.app.extensions.auth.LdapAuthentication"
      AUTH_CLASS: "LdapAuthentication"
      CONFIG:
        LDAP_URI: "{uri}"
        LDAP_BASE_INTERNAL: "{BASE}"
        LDAP_BASE_GROUPS: "ou=Groups,dc=ispyb,dc=test"
        LDAP_TIMEOUT_SECONDS: 2
{extra}"#
    )
}

/// Search mode: a service account finds the user's DN anywhere under the base.
fn search_yml(uri: &str, service_password: &str) -> String {
    format!(
        r#"
AUTH:
  - ldap:
      ENABLED: true
      KIND: ldap
      CONFIG:
        LDAP_URI: "{uri}"
        LDAP_BASE_INTERNAL: "{BASE}"
        LDAP_SEARCH_BIND_DN: "{SEARCH_DN}"
        LDAP_SEARCH_BIND_PASSWORD: "{service_password}"
        LDAP_SEARCH_FILTER: "(&(objectClass=inetOrgPerson)(uid={{login}}))"
"#
    )
}

async fn login(app: &TestApp, body: Value) -> Reply {
    app.request(Method::POST, "/ispyb/api/v1/auth/login", None, Some(body)).await
}

#[track_caller]
fn assert_refused(r: &Reply, what: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
    assert_eq!(r.json, json!({"detail": "Could not verify"}), "{what}");
}

async fn enable_create_person_on_missing(app: &TestApp) {
    sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('create_person_on_missing', 'true')")
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
}

async fn person_names(app: &TestApp, login: &str) -> Option<(Option<String>, Option<String>, Option<String>)> {
    sqlx::query_as("SELECT givenName, familyName, emailAddress FROM Person WHERE login = ?")
        .bind(login)
        .fetch_optional(app.test_db.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn ldap_right_password_logs_in_with_permissions_from_the_database() {
    let app = app_with_auth(&template_yml(&ldap_uri(), "")).await;
    assert_eq!(app.get("/auth/config", None).await.json, json!({"plugins": [{"name": "ldap", "config": {}}]}));

    let r = login(&app, json!({"plugin": "ldap", "login": "efgh", "password": "efgh-secret"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["login"], "efgh");
    assert_eq!(r.json["permissions"], json!(["bl_staff", "uportal_sync"]));
    let me = app.get("/user/current", r.json["token"].as_str()).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["login"], "efgh");

    let r = login(&app, json!({"plugin": "ldap", "login": "abcd", "password": "abcd-secret"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["login"], "abcd");
    app.finish().await;
}

#[tokio::test]
async fn ldap_wrong_password_unknown_user_and_injection_attempts_are_401() {
    let app = app_with_auth(&template_yml(&ldap_uri(), "")).await;
    let cases = [
        (json!({"plugin": "ldap", "login": "abcd", "password": "wrong"}), "wrong password"),
        (json!({"plugin": "ldap", "login": "abcd", "password": "efgh-secret"}), "another user's password"),
        (json!({"plugin": "ldap", "login": "nobody", "password": "abcd-secret"}), "unknown user"),
        (json!({"plugin": "ldap", "login": "abcd", "password": ""}), "empty password"),
        (json!({"plugin": "ldap", "login": "abcd"}), "no password"),
        (json!({"plugin": "ldap", "login": "", "password": "abcd-secret"}), "empty login"),
        // DN injection: the comma is escaped, so this is no DN of the tree.
        (json!({"plugin": "ldap", "login": "abcd,ou=People", "password": "abcd-secret"}), "DN injection"),
        // Ada's DN is cn=Ada Lovelace,ou=Staff,…: the template cannot reach it (search mode can).
        (json!({"plugin": "ldap", "login": "ada", "password": "ada-secret"}), "entry outside the template"),
    ];
    for (body, what) in cases {
        assert_refused(&login(&app, body).await, what);
    }
    app.finish().await;
}

#[tokio::test]
async fn ldap_empty_password_is_refused_without_contacting_the_server() {
    // Nothing listens there: had the plugin tried to bind, the answer would be 503.
    let app = app_with_auth(&template_yml(&format!("ldap://127.0.0.1:{}", dead_port()), "")).await;
    assert_refused(&login(&app, json!({"plugin": "ldap", "login": "abcd", "password": ""})).await, "empty password");
    assert_refused(&login(&app, json!({"plugin": "ldap", "password": "x"})).await, "no login");
    let r = login(&app, json!({"plugin": "ldap", "login": "abcd", "password": "x"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    app.finish().await;
}

#[tokio::test]
async fn ldap_server_down_is_503_with_a_clear_detail() {
    let app = app_with_auth(&template_yml(&format!("ldap://127.0.0.1:{}", dead_port()), "")).await;
    let r = login(&app, json!({"plugin": "ldap", "login": "abcd", "password": "abcd-secret"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.json, json!({"detail": "Authentication service unavailable: cannot reach the LDAP server"}));
    app.finish().await;
}

#[tokio::test]
async fn ldap_starttls_against_a_server_without_tls_is_503_not_a_clear_text_bind() {
    let app = app_with_auth(&template_yml(&ldap_uri(), "        LDAP_STARTTLS: true\n")).await;
    let r = login(&app, json!({"plugin": "ldap", "login": "abcd", "password": "abcd-secret"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    app.finish().await;
}

#[tokio::test]
async fn ldap_search_mode_finds_the_dn_with_a_service_account() {
    let app = app_with_auth(&search_yml(&ldap_uri(), "search-secret")).await;
    let r = login(&app, json!({"plugin": "ldap", "login": "efgh", "password": "efgh-secret"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["permissions"], json!(["bl_staff", "uportal_sync"]));
    let cases = [
        (json!({"plugin": "ldap", "login": "efgh", "password": "abcd-secret"}), "wrong password"),
        (json!({"plugin": "ldap", "login": "nobody", "password": "x"}), "unknown user"),
        // Filter injection: unescaped, `(uid=ab*)` would find abcd and bind with its password.
        (json!({"plugin": "ldap", "login": "ab*", "password": "abcd-secret"}), "filter injection"),
        (json!({"plugin": "ldap", "login": "*", "password": "abcd-secret"}), "wildcard login"),
        (json!({"plugin": "ldap", "login": "abcd)(uid=*", "password": "abcd-secret"}), "filter injection"),
    ];
    for (body, what) in cases {
        assert_refused(&login(&app, body).await, what);
    }

    // Ada is only reachable by search (cn=…,ou=Staff): LDAP accepts her, the database does not
    // know her…
    let r = login(&app, json!({"plugin": "ldap", "login": "ada", "password": "ada-secret"})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json, json!({"detail": "User does not exist in database."}));
    // …until persons are created at first login, with names and e-mail from LDAP.
    enable_create_person_on_missing(&app).await;
    let r = login(&app, json!({"plugin": "ldap", "login": "ada", "password": "ada-secret"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["permissions"], json!([]));
    assert_eq!(
        person_names(&app, "ada").await,
        Some((Some("Ada".into()), Some("Lovelace".into()), Some("ada@ispyb.test".into())))
    );
    app.finish().await;
}

#[tokio::test]
async fn ldap_custom_dn_template_and_names_from_the_users_own_entry() {
    let extra = "        LDAP_BIND_DN_TEMPLATE: \"cn={login},ou=Staff,{base}\"\n";
    let app = app_with_auth(&template_yml(&ldap_uri(), extra)).await;
    enable_create_person_on_missing(&app).await;
    let r = login(&app, json!({"plugin": "ldap", "login": "Ada Lovelace", "password": "ada-secret"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["login"], "Ada Lovelace");
    // Read while bound as the user (anonymous clients cannot read the tree).
    assert_eq!(
        person_names(&app, "Ada Lovelace").await,
        Some((Some("Ada".into()), Some("Lovelace".into()), Some("ada@ispyb.test".into())))
    );
    assert_refused(
        &login(&app, json!({"plugin": "ldap", "login": "abcd", "password": "abcd-secret"})).await,
        "abcd is not under ou=Staff",
    );
    app.finish().await;
}

#[tokio::test]
async fn ldap_wrong_service_account_password_is_503() {
    let app = app_with_auth(&search_yml(&ldap_uri(), "not-the-password")).await;
    let r = login(&app, json!({"plugin": "ldap", "login": "abcd", "password": "abcd-secret"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(!r.text.contains("not-the-password"));
    app.finish().await;
}

#[test]
fn auth_yml_kinds_and_config_errors() {
    // py-ISPyB's class and module names, and our own kinds, all map onto the plugins.
    let yml = r#"
AUTH:
  - a:
      ENABLED: true
      AUTH_MODULE: "pyispyb.app.extensions.auth.LdapAuthentication"
      AUTH_CLASS: "LdapAuthentication"
      CONFIG: {LDAP_URI: "ldap://127.0.0.1:1", LDAP_BASE_INTERNAL: "dc=x"}
  - b:
      ENABLED: true
      AUTH_MODULE: "pyispyb.app.extensions.auth.KeycloakDBGroupsAuthentication"
      AUTH_CLASS: "KeycloakAuthentication"
      CONFIG: {KEYCLOAK_SERVER_URL: "http://127.0.0.1:1", KEYCLOAK_REALM_NAME: "r", KEYCLOAK_CLIENT_ID: "c"}
  - c:
      ENABLED: true
      AUTH_MODULE: "pyispyb.app.extensions.auth.KeycloakDBGroupsAuthentication"
      CONFIG: {OIDC_ISSUER: "http://127.0.0.1:1/x", OIDC_AUDIENCE: "api"}
  - d:
      ENABLED: true
      KIND: OIDC
      CONFIG: {OIDC_ISSUER: "http://127.0.0.1:1/x", OIDC_CLIENT_ID: "ui"}
  - e:
      ENABLED: true
      KIND: keycloak
      CONFIG: {OIDC_ISSUER: "http://127.0.0.1:1/x", OIDC_CLIENT_ID: "ui"}
  - f:
      ENABLED: true
      AUTH_CLASS: "DummyAuthentication"
"#;
    let plugins = AuthPlugins::from_yaml(yml).unwrap();
    assert_eq!(plugins.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["a", "b", "c", "d", "e", "f"]);
    for (yml, needles) in [
        (
            "AUTH:\n  - corp:\n      ENABLED: true\n      KIND: ldap\n      CONFIG: {LDAP_BASE_INTERNAL: dc=x}\n",
            ["`corp`", "LDAP_URI"],
        ),
        ("AUTH:\n  - corp:\n      ENABLED: true\n      AUTH_CLASS: LdapAuthentication\n", ["`corp`", "LDAP_URI"]),
        (
            "AUTH:\n  - sso:\n      ENABLED: true\n      AUTH_CLASS: KeycloakAuthentication\n      CONFIG: {KEYCLOAK_SERVER_URL: \"https://x\"}\n",
            ["`sso`", "KEYCLOAK_REALM_NAME"],
        ),
        ("AUTH:\n  - x:\n      ENABLED: true\n      AUTH_CLASS: SamlAuthentication\n", ["`x`", "unknown kind"]),
    ] {
        let e = AuthPlugins::from_yaml(yml).unwrap_err();
        for needle in needles {
            assert!(e.0.contains(needle), "{e} should mention {needle}");
        }
    }
}
