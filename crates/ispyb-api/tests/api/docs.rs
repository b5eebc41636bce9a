//! The OpenAPI document, the documentation pages, the probes and the common headers.

use axum::http::{Method, StatusCode, header};

use crate::helpers::TestApp;

#[tokio::test]
async fn openapi_document_describes_the_routes() {
    let app = TestApp::ispyb().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = &r.json;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/ispyb/api/v1/auth/login",
        "/ispyb/api/v1/auth/config",
        "/ispyb/api/v1/user/current",
        "/ispyb/api/v1/proposals",
        "/ispyb/api/v1/proposals/{proposal}",
        "/health",
        "/ready",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the document");
    }
    let list = &paths["/ispyb/api/v1/proposals"]["get"];
    assert_eq!(list["operationId"], "get_proposals");
    for code in ["200", "401", "422", "503"] {
        assert!(list["responses"].get(code).is_some(), "proposals list lacks {code}");
    }
    let limit = list["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["maximum"], 1000);
    assert!(doc["components"]["securitySchemes"]["HTTPBearer"].is_object());
    // Nullable columns are written as a type list (what py-ispyb-ui's forms need).
    let proposal = &doc["components"]["schemas"]["Proposal"];
    assert!(proposal.to_string().contains("\"null\""), "{proposal}");
    app.finish().await;
}

#[tokio::test]
async fn documentation_pages_are_served_without_a_cdn() {
    let app = TestApp::ispyb().await;
    let r = app.request(Method::GET, "/docs/", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("swagger"), "{}", &r.text[..200.min(r.text.len())]);
    let r = app.request(Method::GET, "/redoc", None, None).await;
    assert!(r.text.contains("/ispyb/api/v1/openapi.json") && r.text.contains("/redoc/redoc.standalone.js"));
    assert!(!r.text.contains("cdn"));
    let r = app.request(Method::GET, "/redoc/redoc.standalone.js", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.len() > 500_000);
    app.finish().await;
}

#[tokio::test]
async fn probes_request_ids_and_gzip() {
    let app = TestApp::ispyb().await;
    let r = app.request(Method::GET, "/ready", None, None).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::OK, Some("ok")));
    assert!(r.headers.get("x-request-id").is_some());
    let req = axum::http::Request::get("/docs/")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap()), Some("gzip"));
    app.finish().await;
}
