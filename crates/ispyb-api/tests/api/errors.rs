//! Every bad input is a 4xx with `{"detail": ...}`, never a 500 or a plain-text body.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, config};

#[tokio::test]
async fn paging_parameters_are_checked() {
    let app = TestApp::ispyb().await;
    let token = app.login("abcd").await;
    let cases = [
        ("skip=-1", "skip", "value_error.number.not_ge"),
        ("limit=0", "limit", "value_error.number.not_ge"),
        ("limit=1001", "limit", "value_error.number.not_le"),
        ("limit=abc", "limit", "type_error.integer"),
        ("skip=99999999999999999999", "skip", "type_error.integer"),
    ];
    for (query, field, kind) in cases {
        let r = app.get(&format!("/proposals?{query}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(r.json["detail"][0]["loc"], json!(["query", field]), "{query}");
        assert_eq!(r.json["detail"][0]["type"], kind, "{query}");
    }
    app.finish().await;
}

#[tokio::test]
async fn the_maximum_page_size_is_configurable() {
    let test_db = ispyb_db::testing::TestDb::ispyb().await;
    let app = TestApp::with(test_db, config(&[("max_limit", "5")])).await;
    let token = app.login("abcd").await;
    assert_eq!(app.get("/proposals?limit=5", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(app.get("/proposals?limit=6", Some(&token)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.finish().await;
}

#[tokio::test]
async fn unknown_routes_methods_and_bodies() {
    let app = TestApp::ispyb().await;
    let r = app.get("/nothing/here", None).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})));
    let r = app.request(Method::DELETE, "/ispyb/api/v1/auth/config", None, None).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::METHOD_NOT_ALLOWED, json!({"detail": "Method Not Allowed"})));
    let r = app
        .send(
            axum::http::Request::post("/ispyb/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["detail"][0]["loc"][0], "body");
    let r = app
        .send(axum::http::Request::post("/ispyb/api/v1/auth/login").body(axum::body::Body::from("{}")).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "missing content type: {}", r.text);
    app.finish().await;
}

#[tokio::test]
async fn a_lost_database_is_503_not_500() {
    let app = TestApp::ispyb().await;
    let token = app.login("abcd").await;
    app.state.db.close().await;
    let r = app.get("/proposals", Some(&token)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(r.json["detail"].as_str().unwrap().contains("database"));
    let r = app.request(Method::GET, "/ready", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let r = app.request(Method::GET, "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    app.finish().await;
}
