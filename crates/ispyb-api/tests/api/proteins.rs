//! `/proteins`: py-ISPyB's fields, filters, ordering, counts, and only what the caller may see.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_superset, py_ispyb_response};

/// py-ISPyB typed `containmentLevel` and `hazardGroup` as strings (`"1"`); we serve the
/// column's number (docs/compatibility.md), so the recorded answer is adjusted before comparing.
fn numeric_levels(mut v: Value) -> Value {
    for row in v["results"].as_array_mut().unwrap() {
        for key in ["containmentLevel", "hazardGroup"] {
            if let Some(n) = row[key].as_str().and_then(|s| s.parse::<u64>().ok()) {
                row[key] = json!(n);
            }
        }
    }
    v
}

fn ids(r: &Value) -> Vec<u64> {
    r["results"].as_array().unwrap().iter().map(|p| p["proteinId"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn list_matches_py_ispyb() {
    let app = TestApp::ispyb().await;
    let token = app.login("pasteur").await;
    let r = app.get("/proteins?limit=25", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_superset(&numeric_levels(py_ispyb_response("proteins_pasteur")), &r.json, "proteins");
    let first = &r.json["results"][0];
    assert_eq!(first["density"], Value::Null, "py-ISPyB's density is not a column: always null");
    assert_eq!(first["ComponentType"], Value::Null);
    assert_eq!(first["_metadata"], json!({"pdbs": 0, "crystals": 1, "samples": 0, "datacollections": 0}));

    let r = app.get("/proteins/382871", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["acronym"], "P4H");
    assert_eq!(r.json["proposalId"], 9096);
    app.finish().await;
}

#[tokio::test]
async fn another_proposals_protein_is_not_found() {
    let app = TestApp::ispyb().await;
    let abcd = app.login("abcd").await;
    let r = app.get("/proteins/382871", Some(&abcd)).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Protein not found"})));
    let r = app.get("/proteins/99999999", Some(&abcd)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/proteins", Some(&abcd)).await;
    assert_eq!(ids(&r.json), vec![1], "abcd sees only blc00001's protein");
    assert_eq!(
        r.json["results"][0]["_metadata"],
        json!({"pdbs": 0, "crystals": 1, "samples": 1, "datacollections": 0})
    );
    let curie = app.login("curie").await;
    let r = app.get("/proteins", Some(&curie)).await;
    assert_eq!((r.json["total"].as_u64(), ids(&r.json).len()), (Some(0), 0));
    app.finish().await;
}

#[tokio::test]
async fn filters_ordering_and_paging() {
    let app = TestApp::ispyb().await;
    app.grant("abcd", "all_proposals").await;
    let token = app.login("abcd").await;
    let get = |q: String| {
        let app = &app;
        let token = token.clone();
        async move {
            let r = app.get(&format!("/proteins?{q}"), Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            r.json
        }
    };
    assert_eq!(get("limit=100".into()).await["total"], 40);
    assert_eq!(get("proposal=MX1&limit=100".into()).await["total"], 39);
    assert_eq!(get("proposal=mx1".into()).await["total"], 39, "proposal names match case-insensitively");
    assert_eq!(get("proposal=blc00001".into()).await["total"], 1);
    assert_eq!(get("proposal=XX99".into()).await["total"], 0, "an unknown proposal matches nothing");
    assert_eq!(ids(&get("proteinId=382875".into()).await), vec![382875]);
    assert_eq!(ids(&get("search=comp".into()).await), vec![1, 382906], "name or acronym");
    assert_eq!(ids(&get("search=CMY".into()).await), vec![382875], "acronym");
    assert_eq!(get("search=%25".into()).await["total"], 0, "% is matched literally");
    assert_eq!(get("search=".into()).await["total"], 40, "an empty search is no filter");

    // Default: proteinId ascending (py-ISPyB's observed order).
    assert_eq!(ids(&get("limit=3".into()).await), vec![1, 382871, 382872]);
    assert_eq!(ids(&get("limit=2&order=desc".into()).await), vec![382909, 382908]);
    let by_acronym = get("order_by=acronym&order=asc&limit=100".into()).await;
    let acronyms: Vec<String> = by_acronym["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["acronym"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = acronyms.clone();
    sorted.sort();
    assert_eq!(acronyms, sorted, "ordered by acronym (collation order)");
    let by_name = get("order_by=name&order=desc&limit=1".into()).await;
    assert_eq!(by_name["results"][0]["name"], "yeast F1-ATPase");

    // Paging edges.
    let last = get("skip=39&limit=25".into()).await;
    assert_eq!((last["total"].as_u64(), ids(&last).len(), last["skip"].as_u64()), (Some(40), 1, Some(39)));
    let past = get("skip=1000".into()).await;
    assert_eq!((past["total"].as_u64(), ids(&past).len()), (Some(40), 0));
    let one = get("limit=1".into()).await;
    assert_eq!((one["limit"].as_u64(), ids(&one).len()), (Some(1), 1));

    for (q, field) in [
        ("limit=0", "limit"),
        ("skip=-1", "skip"),
        ("order_by=density", "order_by"),
        ("order=up", "order"),
        ("proposal=MX", "proposal"),
        ("proteinId=x", "proteinId"),
    ] {
        let r = app.get(&format!("/proteins?{q}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.text);
        let loc = &r.json["detail"][0]["loc"];
        assert_eq!(loc, &json!(["query", field]), "{q}");
    }
    let r = app.get("/proteins/abc", Some(&token)).await;
    assert_eq!((r.status, r.json["detail"][0]["loc"][0].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("path")));
    app.finish().await;
}

#[tokio::test]
async fn metadata_counts_what_refers_to_the_protein() {
    let app = TestApp::ispyb().await;
    let pool = app.test_db.db.pool();
    // Protein 1 (blc00001): crystal 1 has sample 1; add a second crystal, a sample with two data
    // collections, a PDB link and a component type.
    for sql in [
        "INSERT INTO Crystal (crystalId, proteinId) VALUES (900001, 1)",
        "INSERT INTO BLSample (blSampleId, crystalId, name) VALUES (900001, 900001, 's2')",
        "INSERT INTO DataCollectionGroup (dataCollectionGroupId, sessionId, blSampleId) VALUES (900001, 1, 900001)",
        "INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId) VALUES (900001, 900001), (900002, 900001)",
        "INSERT INTO PDB (pdbId, name) VALUES (900001, 'p')",
        "INSERT INTO Protein_has_PDB (proteinid, pdbid) VALUES (1, 900001)",
        "UPDATE Protein SET componentTypeId = 1 WHERE proteinId = 1",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let token = app.login("abcd").await;
    let r = app.get("/proteins/1", Some(&token)).await;
    assert_eq!(r.json["_metadata"], json!({"pdbs": 1, "crystals": 2, "samples": 2, "datacollections": 2}));
    assert_eq!(r.json["ComponentType"], json!({"componentTypeId": 1, "name": "Protein"}));
    app.finish().await;
}
