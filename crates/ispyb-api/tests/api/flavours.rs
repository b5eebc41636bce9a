//! The same requests against Diamond's schema flavour: they work on its own test data.

use axum::http::{Method, StatusCode};
use ispyb_db::Flavour;
use ispyb_db::testing::TestDb;
use serde_json::json;

use crate::helpers::{TestApp, config};

#[tokio::test]
async fn core_routes_work_on_the_dls_flavour() {
    let app = TestApp::with(TestDb::real(Flavour::Dls).await, config(&[])).await;
    // boaty is the PI of cm14451 (ProposalHasPerson), with its three sessions.
    let boaty = app.login("boaty").await;
    let r = app.get("/proposals", Some(&boaty)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["results"][0]["proposal"], "cm14451");
    assert_eq!(r.json["results"][0]["_metadata"]["sessions"], 3);
    let r = app.get("/sessions", Some(&boaty)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["total"], 3);
    assert_eq!(r.json["results"][0]["session"], "cm14451-99", "latest first");
    assert!(
        r.json["results"][0].get("nbReimbDewars").is_some(),
        "a column the flavour lacks is still in the shape (null)"
    );
    let id = r.json["results"][0]["sessionId"].as_u64().unwrap();
    assert_eq!(app.get(&format!("/sessions/{id}"), Some(&boaty)).await.status, StatusCode::OK);

    app.grant("boaty", "all_proposals").await;
    let admin = app.login("boaty").await;
    for path in [
        "/proposals",
        "/sessions?year=2016",
        "/persons",
        "/labcontacts",
        "/shippings",
        "/dewars",
        "/containers",
        "/user/current",
    ] {
        let r = app.get(path, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    assert_eq!(app.get("/shippings", Some(&admin)).await.json["total"], 6);
    // One of the 13 containers is in no dewar, so it belongs to no proposal through shipping.
    assert_eq!(app.get("/containers", Some(&admin)).await.json["total"], 12);

    // Writes on the same flavour.
    let r = app
        .request(
            Method::POST,
            "/ispyb/api/v1/labcontacts",
            Some(&admin),
            Some(json!({"proposalId": 37027, "cardName": "Boaty", "Person": {"givenName": "Boaty", "familyName": "McBoatface"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let contact = r.json["labContactId"].as_u64().unwrap();
    let r = app
        .request(
            Method::POST,
            "/ispyb/api/v1/shippings",
            Some(&admin),
            Some(json!({"proposalId": 37027, "shippingName": "S", "sendingLabContactId": contact, "returnLabContactId": contact})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.finish().await;
}
