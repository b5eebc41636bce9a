//! Login, tokens and the caller, as py-ispyb-ui uses them.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::helpers::{TestApp, assert_superset, py_ispyb_response};

#[tokio::test]
async fn ui_login_flow() {
    let app = TestApp::ispyb().await;
    let r = app.get("/auth/config", None).await;
    assert_eq!(r.json, py_ispyb_response("auth_config"));

    let r = app
        .request(
            Method::POST,
            "/ispyb/api/v1/auth/login",
            None,
            Some(json!({"plugin": "dummy", "login": "efgh", "password": "any"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json["login"], "efgh");
    assert_eq!(r.json["permissions"], json!(["bl_staff", "uportal_sync"]));
    assert_eq!(r.json["expiresIn"], 300 * 60);
    let token = r.json["token"].as_str().unwrap();

    let me = app.get("/user/current", Some(token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_superset(&py_ispyb_response("user_current_efgh"), &me.json, "efgh");
    let token = app.login("abcd").await;
    assert_superset(
        &py_ispyb_response("user_current_abcd"),
        &app.get("/user/current", Some(&token)).await.json,
        "abcd",
    );
    app.finish().await;
}

#[tokio::test]
async fn failed_logins_are_401_with_py_ispyb_messages() {
    let app = TestApp::ispyb().await;
    let cases = [
        (json!({"login": "abcd", "password": "x"}), "Could not verify"),
        (json!({"plugin": "ldap", "login": "abcd", "password": "x"}), "Could not verify"),
        (json!({"plugin": "dummy", "password": "x"}), "Could not verify"),
        (json!({"plugin": "dummy", "login": "nobody", "password": "x"}), "User does not exist in database."),
    ];
    for (body, detail) in cases {
        let r = app.request(Method::POST, "/ispyb/api/v1/auth/login", None, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(r.json, json!({"detail": detail}), "{body}");
    }
    let r = app.request(Method::POST, "/ispyb/api/v1/auth/login", None, Some(json!({"plugin": 5}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["detail"][0]["loc"][0], "body");
    app.finish().await;
}

#[tokio::test]
async fn create_person_on_missing_option_creates_the_person() {
    let app = TestApp::ispyb().await;
    sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('create_person_on_missing', 'true')")
        .execute(&app.test_db.db)
        .await
        .unwrap();
    let token = app.login("brandnew").await;
    let me = app.get("/user/current", Some(&token)).await;
    assert_eq!(me.json["login"], "brandnew");
    assert_eq!(me.json["Permissions"], json!([]));
    app.finish().await;
}

#[tokio::test]
async fn bad_credentials_on_protected_routes() {
    let app = TestApp::ispyb().await;
    let good = app.login("abcd").await;
    let expired = {
        use jsonwebtoken::{EncodingKey, Header, encode};
        let claims = json!({"login": "abcd", "personId": 1, "permissions": [], "iat": 1, "exp": 2});
        encode(&Header::default(), &claims, &EncodingKey::from_secret(b"test-secret-key-0123456789")).unwrap()
    };
    let cases: [(Option<String>, &str); 6] = [
        (None, "No token provided."),
        (Some("Basic abc".into()), "No token provided."),
        (Some(format!("bearer {good}")), "Invalid authentication scheme."),
        (Some("Bearer asda.asda.asda".into()), "Invalid token"),
        (Some(format!("Bearer {good}x")), "Invalid token"),
        (Some(format!("Bearer {expired}")), "Token expired. Please log in again"),
    ];
    for (header_value, detail) in cases {
        for path in ["/ispyb/api/v1/user/current", "/ispyb/api/v1/proposals", "/ispyb/api/v1/proposals/blc00001"] {
            let mut req = Request::builder().uri(path);
            if let Some(h) = &header_value {
                req = req.header(header::AUTHORIZATION, h);
            }
            let r = app.send(req.body(Body::empty()).unwrap()).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path} with {header_value:?}");
            assert_eq!(r.json, json!({"detail": detail}), "{path} with {header_value:?}");
            assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
        }
    }
    // 401 comes before validation: a bad query without a token is still 401.
    let r = app.get("/proposals?limit=0", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}
