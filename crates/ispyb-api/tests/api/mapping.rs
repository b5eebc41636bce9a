//! `/mapping*`: XRF maps on the `dls` flavour (grids, ROIs, values), none on `ispyb`.

use std::io::Write;

use axum::http::{StatusCode, header};
use ispyb_db::Flavour;
use ispyb_db::testing::TestDb;
use serde_json::json;

use crate::events::exec;
use crate::helpers::{TestApp, config};

#[tokio::test]
async fn maps_on_the_dls_flavour() {
    let app = TestApp::with(TestDb::real(Flavour::Dls).await, config(&[])).await;
    // cm14451's data collection 993677 (sample 374695): a 3 x 2 snaked grid with two maps.
    exec(&app, "INSERT INTO GridInfo (gridInfoId, dataCollectionId, steps_x, steps_y, snaked, orientation) VALUES (900, 993677, 3, 2, 1, 'horizontal')").await;
    exec(&app, "INSERT INTO XRFFluorescenceMappingROI (xrfFluorescenceMappingROIId, element, edge, startEnergy, endEnergy, blSampleId) VALUES (901, 'Fe', 'K', 7000, 7200, 374695)").await;
    exec(&app, "INSERT INTO XRFFluorescenceMapping (xrfFluorescenceMappingId, xrfFluorescenceMappingROIId, gridInfoId, dataFormat, data, points, opacity, colourMap, min, max)
        VALUES (902, 901, 900, 'json', '[1, 2, 3, 4, 5, -1]', 5, 1, 'viridis', 0, 6)").await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"[10, 20, 30, 40, 50, 60]").unwrap();
    sqlx::query(
        "INSERT INTO XRFFluorescenceMapping (xrfFluorescenceMappingId, xrfFluorescenceMappingROIId, gridInfoId, dataFormat, data, points)
         VALUES (903, 901, 900, 'json+gzip', ?, 6)",
    )
    .bind(gz.finish().unwrap())
    .execute(app.test_db.db.pool())
    .await
    .unwrap();
    let token = app.login("boaty").await;

    let r = app.get("/mapping?dataCollectionId=993677", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["total"], 2);
    assert_eq!(
        r.json["results"][0],
        json!({"xrfFluorescenceMappingId": 902, "colourMap": "viridis", "opacity": 1.0, "points": 5, "dataFormat": "json",
               "_metadata": {"url": "/ispyb/api/v1/mapping/902", "blSubSampleId": null, "blSampleId": 374695, "dataCollectionId": 993677},
               "GridInfo": {"gridInfoId": 900, "steps_x": 3.0, "steps_y": 2.0, "snaked": true, "orientation": "horizontal"},
               "XRFFluorescenceMappingROI": {"xrfFluorescenceMappingROIId": 901, "element": "Fe", "edge": "K", "scalar": null,
                                             "startEnergy": 7000.0, "endEnergy": 7200.0, "blSampleId": 374695}})
    );
    for q in ["blSampleId=374695", "dataCollectionGroupId=988855", "xrfFluorescenceMappingId=903"] {
        let r = app.get(&format!("/mapping?{q}"), Some(&token)).await;
        assert!(r.json["total"].as_u64().unwrap() >= 1, "{q}: {}", r.text);
    }
    assert_eq!(app.get("/mapping?blSampleId=1", Some(&token)).await.json["total"], 0);

    // Snaked: the second row runs backwards.
    for (x, y, v) in [(0, 0, 1.0), (2, 0, 3.0), (0, 1, -1.0), (2, 1, 4.0)] {
        let r = app.get(&format!("/mapping/pixel/902?x={x}&y={y}"), Some(&token)).await;
        assert_eq!(r.json, json!({"xrfFluorescenceMappingId": 902, "x": x, "y": y, "value": v}), "{x},{y}");
    }
    let r = app.get("/mapping/pixel/903?x=1&y=1", Some(&token)).await;
    assert_eq!(r.json["value"], 50.0, "gzipped data");
    assert_eq!(app.get("/mapping/pixel/902?x=3&y=0", Some(&token)).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/mapping/pixel/902?x=1", Some(&token)).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = app.get("/mapping/histogram/903", Some(&token)).await;
    assert_eq!(r.json["hist"].as_array().unwrap().len(), 50);
    assert_eq!(r.json["hist"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 6);
    assert_eq!(r.json["width"][0], 1.0);

    let r = app.get("/mapping/902", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");

    let r = app.get("/mapping/rois?blSampleId=374695", Some(&token)).await;
    assert_eq!((r.json["total"].clone(), r.json["results"][0]["element"].clone()), (json!(1), json!("Fe")));

    // Someone who is not on the proposal.
    exec(&app, "INSERT INTO Person (personId, login, familyName) VALUES (77, 'stranger', 'S')").await;
    let other = app.login("stranger").await;
    assert_eq!(app.get("/mapping?dataCollectionId=993677", Some(&other)).await.json["total"], 0);
    assert_eq!(app.get("/mapping/rois", Some(&other)).await.json["total"], 0);
    for q in ["/mapping/902", "/mapping/histogram/902", "/mapping/pixel/902?x=0&y=0"] {
        let r = app.get(q, Some(&other)).await;
        assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Map not found"})), "{q}");
    }
    app.finish().await;
}

#[tokio::test]
async fn no_maps_on_the_ispyb_flavour() {
    let app = TestApp::ispyb().await;
    app.grant("abcd", "all_proposals").await;
    let token = app.login("abcd").await;
    assert_eq!(
        app.get("/mapping", Some(&token)).await.json,
        json!({"total": 0, "results": [], "skip": 0, "limit": 25})
    );
    assert_eq!(app.get("/mapping/rois", Some(&token)).await.json["total"], 0);
    let r = app.get("/mapping/1", Some(&token)).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Map not found"})));
    app.finish().await;
}
