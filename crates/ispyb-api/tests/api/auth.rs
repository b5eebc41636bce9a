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
        .execute(app.test_db.db.pool())
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

#[tokio::test]
async fn refresh_extends_a_session_with_current_permissions() {
    let app = TestApp::ispyb().await;
    let r = app
        .request(
            Method::POST,
            "/ispyb/api/v1/auth/login",
            None,
            Some(json!({"plugin": "dummy", "login": "abcd", "password": "x"})),
        )
        .await;
    let refresh_token = r.json["refreshToken"].as_str().unwrap().to_string();
    let access = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(r.json["permissions"], json!([]));
    app.grant("abcd", "all_proposals").await;

    // With the refresh token: the new token carries the permission granted since login.
    let r = app
        .request(Method::POST, "/ispyb/api/v1/auth/refresh", None, Some(json!({"refreshToken": refresh_token})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["permissions"], json!(["all_proposals"]));
    let fresh = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/proposals", Some(&fresh)).await.json["total"], 2);

    // With a still-valid access token and no body.
    let r = app.request(Method::POST, "/ispyb/api/v1/auth/refresh", Some(&access), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // Tokens of one kind never pass as the other.
    let r = app.request(Method::POST, "/ispyb/api/v1/auth/refresh", None, Some(json!({"refreshToken": access}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/proposals", Some(&refresh_token)).await.status, StatusCode::UNAUTHORIZED);
    let r = app.request(Method::POST, "/ispyb/api/v1/auth/refresh", None, None).await;
    assert_eq!((r.status, r.json["detail"].as_str()), (StatusCode::UNAUTHORIZED, Some("No token provided.")));

    // A person removed from the database cannot refresh.
    sqlx::query("UPDATE Person SET login = 'gone' WHERE login = 'abcd'").execute(app.test_db.db.pool()).await.unwrap();
    let r = app
        .request(Method::POST, "/ispyb/api/v1/auth/refresh", None, Some(json!({"refreshToken": refresh_token})))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn one_time_tokens_open_one_path_once() {
    let app = TestApp::ispyb().await;
    let token = app.login("abcd").await;
    let r = app
        .request(
            Method::POST,
            "/ispyb/api/v1/user/sign",
            Some(&token),
            Some(json!({"validity": "http://host/ispyb/api/v1/proposals/blc00001?x=1"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["validity"], "http://host/ispyb/api/v1/proposals/blc00001?x=1");
    let once = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(once.len(), 128);
    let stored: String = sqlx::query_scalar("SELECT validity FROM SW_onceToken WHERE token = ?")
        .bind(&once)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, "/proposals/blc00001");

    // Another path: refused, and the token is not consumed.
    let r = app.get(&format!("/proposals?onetime={once}"), None).await;
    assert_eq!((r.status, r.json["detail"].as_str()), (StatusCode::UNAUTHORIZED, Some("Invalid one time token.")));
    let r = app.get(&format!("/proposals/blc00001?onetime={once}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["proposal"], "blc00001");
    let r = app.get(&format!("/proposals/blc00001?onetime={once}"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "single use");

    let r = app.get("/proposals?onetime=bad%20token!", None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "malformed: 422, never 500");
    assert_eq!(r.json["detail"][0]["loc"], json!(["query", "onetime"]));
    let r = app.get("/proposals?onetime=unknown", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Expired tokens are refused.
    let r = app
        .request(Method::POST, "/ispyb/api/v1/user/sign", Some(&token), Some(json!({"validity": "/proposals"})))
        .await;
    let old = r.json["token"].as_str().unwrap().to_string();
    sqlx::query("UPDATE SW_onceToken SET recordTimeStamp = NOW() - INTERVAL 1 MINUTE")
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    assert_eq!(app.get(&format!("/proposals?onetime={old}"), None).await.status, StatusCode::UNAUTHORIZED);
    let r = app.request(Method::POST, "/ispyb/api/v1/user/sign", Some(&token), Some(json!({"token": "x"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "validity is required");
    app.finish().await;
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled() {
    let test_db = ispyb_db::testing::TestDb::ispyb().await;
    let app = TestApp::with(test_db, crate::helpers::config(&[("login_max_failures", "3")])).await;
    let attempt = |login: &'static str| {
        let mut req = Request::post("/ispyb/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"plugin": "dummy", "login": login, "password": "x"}).to_string()))
            .unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([10, 0, 0, 1], 4000))));
        req
    };
    for _ in 0..3 {
        assert_eq!(app.send(attempt("nobody")).await.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.send(attempt("nobody")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&wait));
    // The address is blocked for other logins too; another address is not.
    assert_eq!(app.send(attempt("abcd")).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(app.login("abcd").await.len() > 20, "another login from the same address still works");
    app.finish().await;
}
