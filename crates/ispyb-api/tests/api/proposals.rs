//! `/proposals`: the same fields and values as py-ISPyB, and only what the caller may see.

use axum::http::StatusCode;

use crate::helpers::{TestApp, assert_superset, py_ispyb_response};

#[tokio::test]
async fn lists_match_py_ispyb_for_each_kind_of_member() {
    let app = TestApp::ispyb().await;
    for login in ["abcd", "efgh", "pasteur"] {
        let token = app.login(login).await;
        let r = app.get("/proposals", Some(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{login}: {}", r.text);
        assert_superset(&py_ispyb_response(&format!("proposals_{login}")), &r.json, login);
    }
    let token = app.login("pasteur").await;
    let r = app.get("/proposals/MX1", Some(&token)).await;
    assert_superset(&py_ispyb_response("proposal_MX1_pasteur"), &r.json, "MX1");
    app.finish().await;
}

#[tokio::test]
async fn session_members_see_only_their_sessions_in_aggregates() {
    let app = TestApp::ispyb().await;
    // darwin is on two of MX1's sessions through Session_has_Person, not on the proposal.
    let token = app.login("darwin").await;
    let r = app.get("/proposals", Some(&token)).await;
    assert_eq!(r.json["total"], 1);
    assert_eq!(r.json["results"][0]["proposal"], "MX1");
    assert_eq!(r.json["results"][0]["_metadata"]["sessions"], 2);
    assert_eq!(r.json["results"][0]["_metadata"]["beamLines"], serde_json::json!(["BL01", "BL02"]));
    app.finish().await;
}

#[tokio::test]
async fn invisible_proposals_are_not_found() {
    let app = TestApp::ispyb().await;
    let token = app.login("abcd").await;
    for name in ["MX1", "mx1", "nope", "blc00001-x"] {
        let r = app.get(&format!("/proposals/{name}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
        assert_eq!(r.json, serde_json::json!({"detail": "Proposal not found"}));
    }
    let r = app.get("/proposals/BLC00001", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "names match case-insensitively, as py-ISPyB");
    app.finish().await;
}

#[tokio::test]
async fn all_proposals_and_beamline_groups_widen_the_view() {
    let app = TestApp::ispyb().await;
    // Before the first request: options are cached for a few seconds.
    sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('beamLineGroups', ?)")
        .bind(r#"[{"groupName":"BL01 staff","uiGroup":"mx","permission":"bl_admin","beamLines":[{"beamLineName":"BL01"}]}]"#)
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    app.grant("abcd", "all_proposals").await;
    let token = app.login("abcd").await;
    let r = app.get("/proposals", Some(&token)).await;
    assert_eq!(r.json["total"], 2);
    let mx1 = &r.json["results"][0];
    assert_eq!(mx1["proposal"], "MX1", "newest first");
    assert_eq!(mx1["_metadata"]["sessions"], 4);

    app.grant("efgh", "bl_admin").await;
    let token = app.login("efgh").await;
    let r = app.get("/proposals", Some(&token)).await;
    assert_eq!(r.json["total"], 1);
    let meta = &r.json["results"][0]["_metadata"];
    assert_eq!(meta["sessions"], 3, "only the BL01 sessions count");
    assert_eq!(meta["beamLines"], serde_json::json!(["BL01"]));
    assert_eq!(meta["uiGroups"], serde_json::json!(["mx"]));
    let me = app.get("/user/current", Some(&token)).await;
    assert_eq!(me.json["beamLineGroups"], serde_json::json!(["BL01 staff"]));
    assert_eq!(me.json["beamLines"], serde_json::json!(["BL01"]));
    app.finish().await;
}

#[tokio::test]
async fn search_and_paging() {
    let app = TestApp::ispyb().await;
    app.grant("abcd", "all_proposals").await;
    let token = app.login("abcd").await;
    let r = app.get("/proposals?search=Test%20Prop", Some(&token)).await;
    assert_eq!(r.json["total"], 1);
    assert_eq!(r.json["results"][0]["proposal"], "blc00001");
    let r = app.get("/proposals?search=BL02", Some(&token)).await;
    assert_eq!(r.json["results"][0]["proposal"], "MX1", "beamline names match too");
    let r = app.get("/proposals?search=%25", Some(&token)).await;
    assert_eq!(r.json["total"], 0, "% is matched literally, not as a wildcard");
    let r = app.get("/proposals?skip=1&limit=1", Some(&token)).await;
    assert_eq!(
        (r.json["total"].as_u64(), r.json["skip"].as_u64(), r.json["limit"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(r.json["results"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["results"][0]["proposal"], "blc00001");
    app.finish().await;
}
