//! `/samples`, `/samples/sub`, `/samples/images` and the sample editor's lookups and writes:
//! py-ISPyB's fields, every filter, ordering, paging, visibility, validation, atomic writes.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, assert_superset, py_ispyb_response};

async fn exec(app: &TestApp, statements: &[&str]) {
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(app.test_db.db.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap()
}

fn ids(r: &Value, key: &str) -> Vec<u64> {
    r["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {r}"))
        .iter()
        .map(|s| s[key].as_u64().unwrap())
        .collect()
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Reply {
    app.request(method, &format!("/ispyb/api/v1{path}"), Some(token), Some(body)).await
}

/// MX1 (9096) gets a shipment, a dewar in the sample changer, a container and three samples;
/// sample 900002 has two data collections, a screening, an integration; 900001 a robot action
/// and a sub-sample.
async fn mx1_samples(app: &TestApp) {
    exec(
        app,
        &[
            "INSERT INTO Shipping (shippingId, proposalId, shippingName) VALUES (900001, 9096, 'mx1 shipment')",
            "INSERT INTO Dewar (dewarId, shippingId, code, dewarStatus) VALUES (900001, 900001, 'mx1 dewar', 'processing')",
            "INSERT INTO Container (containerId, dewarId, code, beamlineLocation, sampleChangerLocation)
             VALUES (900001, 900001, 'mx1 puck', 'BL01', '3')",
            "INSERT INTO BLSample (blSampleId, name, crystalId, containerId, location) VALUES
             (900001, 'alpha', 577506, 900001, '2'), (900002, 'beta', 577507, 900001, '10'),
             (900003, 'gamma_x', 577506, NULL, NULL)",
            "INSERT INTO DataCollectionGroup (dataCollectionGroupId, sessionId, blSampleId, experimentType) VALUES
             (900001, 70565, 900002, 'OSC'), (900002, 70565, 900002, 'Characterization')",
            "INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId) VALUES (900001, 900001), (900002, 900001)",
            "INSERT INTO Screening (screeningId, dataCollectionId) VALUES (900001, 900001)",
            "INSERT INTO ScreeningOutput (screeningOutputId, screeningId, strategySuccess) VALUES (900001, 900001, 1), (900002, 900001, 0)",
            "INSERT INTO AutoProcIntegration (autoProcIntegrationId, dataCollectionId) VALUES (900001, 900002)",
            "INSERT INTO AutoProcScaling (autoProcScalingId) VALUES (900001)",
            "INSERT INTO AutoProcScaling_has_Int (autoProcScalingId, autoProcIntegrationId) VALUES (900001, 900001)",
            "INSERT INTO AutoProcScalingStatistics (autoProcScalingId, scalingStatisticsType, resolutionLimitHigh)
             VALUES (900001, 'overall', 1.5), (900001, 'outerShell', 1.25)",
            "INSERT INTO RobotAction (robotActionId, blsessionId, blsampleId, actionType) VALUES (900001, 70565, 900001, 'LOAD')",
            "INSERT INTO `Position` (positionId, posX, posY) VALUES (900001, 10.7, 20.2)",
            "INSERT INTO BLSubSample (blSubSampleId, blSampleId, positionId) VALUES (900001, 900001, 900001)",
        ],
    )
    .await;
}

#[tokio::test]
async fn answers_match_py_ispyb() {
    let app = TestApp::ispyb().await;
    let token = app.login("abcd").await;
    let r = app.get("/samples?limit=25", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_superset(&py_ispyb_response("samples_abcd"), &r.json, "samples");
    let r = app.get("/samples/1", Some(&token)).await;
    assert_superset(&py_ispyb_response("sample_1_abcd"), &r.json, "sample 1");
    assert_eq!(r.json["location"], 1, "a number, as the sample changer compares it");
    assert_eq!(r.json["Crystal"]["Protein"]["proposalId"], "1", "py-ISPyB declares it a string");
    assert_eq!(
        (r.json["sample_compositions"].clone(), r.json["Crystal"]["crystal_compositions"].clone()),
        (json!([]), json!([]))
    );
    let r = app.get("/samples/sub?limit=25", Some(&token)).await;
    assert_superset(&py_ispyb_response("subsamples_abcd"), &r.json, "subsamples");
    let r = app.get("/samples/sub/2", Some(&token)).await;
    assert_eq!(
        (r.status, r.json["Position2"].clone(), r.json["BLSample"]["name"].clone()),
        (StatusCode::OK, Value::Null, json!("sample1"))
    );
    app.finish().await;
}

#[tokio::test]
async fn another_proposals_objects_are_not_found() {
    let app = TestApp::ispyb().await;
    let pasteur = app.login("pasteur").await;
    for (path, detail) in [
        ("/samples/1", "Sample not found"),
        ("/samples/sub/1", "Sub sample not found"),
        ("/samples/999999", "Sample not found"),
    ] {
        let r = app.get(path, Some(&pasteur)).await;
        assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": detail})), "{path}");
    }
    for path in ["/samples", "/samples/sub", "/samples/images"] {
        let r = app.get(path, Some(&pasteur)).await;
        assert_eq!((r.status, r.json["total"].as_u64()), (StatusCode::OK, Some(0)), "{path}");
    }
    for path in ["/samples/abc", "/samples/sub/-1", "/samples/images/x", "/samples/99999999999"] {
        let r = app.get(path, Some(&pasteur)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", r.text);
        assert_eq!(r.json["detail"][0]["loc"][0], "path", "{path}");
    }
    app.finish().await;
}

#[tokio::test]
async fn sample_filters_ordering_and_paging() {
    let app = TestApp::ispyb().await;
    mx1_samples(&app).await;
    app.grant("newton", "all_proposals").await;
    let token = app.login("newton").await;
    let get = |q: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let r = app.get(&format!("/samples?{q}"), Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            r.json
        }
    };
    assert_eq!(ids(&get("").await, "blSampleId"), vec![900003, 900002, 900001, 1], "blSampleId descending by default");
    assert_eq!(ids(&get("proposal=MX1").await, "blSampleId"), vec![900003, 900002, 900001]);
    assert_eq!(ids(&get("proposal=blc00001").await, "blSampleId"), vec![1]);
    assert_eq!(get("proposal=XX99").await["total"], 0, "an unknown proposal matches nothing");
    assert_eq!(ids(&get("search=l_h").await, "blSampleId"), Vec::<u64>::new(), "_ is literal (else: alpha)");
    assert_eq!(ids(&get("search=a_").await, "blSampleId"), vec![900003]);
    assert_eq!(ids(&get("search=A_X").await, "blSampleId"), vec![900003], "case-insensitive substring");
    assert_eq!(ids(&get("search=ta").await, "blSampleId"), vec![900002]);
    assert_eq!(ids(&get("proteinId=382871").await, "blSampleId"), vec![900003, 900001]);
    assert_eq!(ids(&get("containerId=900001").await, "blSampleId"), vec![900002, 900001]);
    assert_eq!(ids(&get("beamLineName=BL01").await, "blSampleId"), vec![900002, 900001], "in BL01's sample changer");
    assert_eq!(ids(&get("beamLineName=bl").await, "blSampleId"), vec![1]);
    assert_eq!(get("beamLineName=BL02").await["total"], 0);
    assert_eq!(ids(&get("status=Sample%20Action").await, "blSampleId"), vec![900001]);
    assert_eq!(ids(&get("status=Data%20Collected").await, "blSampleId"), vec![900002]);
    assert_eq!(ids(&get("status=Strategy").await, "blSampleId"), vec![900002]);
    assert_eq!(ids(&get("status=Auto%20Integrated").await, "blSampleId"), vec![900002]);
    assert_eq!(ids(&get("proposal=MX1&containerId=900001&status=Sample%20Action").await, "blSampleId"), vec![900001]);
    // The UI's sample changer sends `assigned=true`, which py-ISPyB ignored.
    assert_eq!(get("assigned=true&beamLineName=BL01&proposal=MX1").await["total"], 2);

    assert_eq!(ids(&get("order=asc").await, "blSampleId"), vec![1, 900001, 900002, 900003]);
    assert_eq!(ids(&get("order_by=name&order=asc").await, "blSampleId"), vec![900001, 900002, 900003, 1]);
    assert_eq!(
        ids(&get("order_by=name").await, "blSampleId"),
        vec![1, 900003, 900002, 900001],
        "descending by default"
    );
    assert_eq!(
        ids(&get("order_by=location&order=asc&proposal=MX1").await, "blSampleId"),
        vec![900003, 900001, 900002],
        "numerically: no location, 2, 10"
    );
    assert_eq!(ids(&get("order_by=datacollections").await, "blSampleId")[0], 900002);

    let page = get("skip=1&limit=2").await;
    assert_eq!(
        (ids(&page, "blSampleId"), page["total"].as_u64(), page["skip"].as_u64(), page["limit"].as_u64()),
        (vec![900002, 900001], Some(4), Some(1), Some(2))
    );
    let past = get("skip=4").await;
    assert_eq!((past["results"].as_array().unwrap().len(), past["total"].as_u64()), (0, Some(4)));

    let beta = app.get("/samples/900002", Some(&token)).await.json;
    assert_eq!(
        beta["_metadata"],
        json!({"subsamples": 0, "datacollections": 2, "types": ["Characterization", "OSC"], "queued": false,
               "strategies": 1, "autoIntegrations": 1, "integratedResolution": 1.25, "proposal": "MX1"})
    );
    assert_eq!(
        beta["Crystal"]["Protein"],
        json!({"proposalId": "9096", "name": "Lysozyme Egg 50mg/ml", "acronym": "Lys", "proteinId": 382872})
    );
    assert_eq!((beta["Container"]["code"].clone(), beta["location"].clone()), (json!("mx1 puck"), json!(10)));
    let alpha = app.get("/samples/900001", Some(&token)).await.json;
    assert_eq!(
        (alpha["_metadata"]["subsamples"].clone(), alpha["_metadata"]["types"].clone()),
        (json!(1), Value::Null)
    );
    let gamma = app.get("/samples/900003", Some(&token)).await.json;
    assert_eq!(
        (gamma["Container"].clone(), gamma["containerId"].clone(), gamma["location"].clone()),
        (Value::Null, Value::Null, Value::Null)
    );

    for (q, field) in [
        ("status=Processed", "status"),
        ("order_by=comments", "order_by"),
        ("order=sideways", "order"),
        ("proposal=MX", "proposal"),
        ("proteinId=-4", "proteinId"),
        ("containerId=x", "containerId"),
        ("limit=0", "limit"),
    ] {
        let r = app.get(&format!("/samples?{q}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.text);
        assert_eq!(r.json["detail"][0]["loc"], json!(["query", field]), "{q}");
    }
    app.finish().await;
}

#[tokio::test]
async fn subsample_filters_and_ordering() {
    let app = TestApp::ispyb().await;
    mx1_samples(&app).await;
    app.grant("newton", "all_proposals").await;
    let token = app.login("newton").await;
    let get = |q: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let r = app.get(&format!("/samples/sub?{q}"), Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            ids(&r.json, "blSubSampleId")
        }
    };
    assert_eq!(get("").await, vec![1, 2, 3, 900001], "blSubSampleId ascending by default");
    assert_eq!(get("order=desc").await, vec![900001, 3, 2, 1]);
    assert_eq!(get("blSampleId=1").await, vec![1, 2, 3]);
    assert_eq!(get("blSampleId=900001").await, vec![900001]);
    assert_eq!(get("proteinId=382871").await, vec![900001]);
    assert_eq!(get("containerId=1").await, vec![1, 2, 3]);
    assert_eq!(get("proposal=MX1").await, vec![900001]);
    assert_eq!(get("proposal=XX99").await, Vec::<u64>::new());
    assert_eq!(get("order_by=datacollections&order=desc&limit=1").await, vec![1], "subsample 1 has a collection");
    assert_eq!(get("skip=3&limit=5").await, vec![900001]);
    let r = app.get("/samples/sub/900001", Some(&token)).await.json;
    assert_eq!(r["Position1"], json!({"posX": 10, "posY": 20}), "py-ISPyB's integer pixels");
    assert_eq!(r["_metadata"], json!({"datacollections": 0, "types": []}));
    let r = app.get("/samples/sub?order_by=type", Some(&token)).await;
    assert_eq!(r.json["detail"][0]["loc"], json!(["query", "order_by"]));
    app.finish().await;
}

#[tokio::test]
async fn sample_images_list_with_their_url() {
    let app = TestApp::ispyb().await;
    exec(
        &app,
        &["INSERT INTO BLSampleImage (blSampleImageId, blSampleId, micronsPerPixelX, micronsPerPixelY, imageFullPath)
           VALUES (900001, 1, 1.5, 2.5, '/nowhere/a.png'), (900002, 1, 1, 1, '/nowhere/b.png')"],
    )
    .await;
    let abcd = app.login("abcd").await;
    let r = app.get("/samples/images?blSampleId=1&limit=1", Some(&abcd)).await;
    assert_eq!((r.status, r.json["total"].as_u64()), (StatusCode::OK, Some(2)), "{}", r.text);
    let image = &r.json["results"][0];
    assert_superset(
        &json!({"blSampleImageId": 900001, "blSampleId": 1, "micronsPerPixelX": 1.5, "micronsPerPixelY": 2.5,
                "offsetX": 0, "offsetY": 0, "_metadata": {"url": "/ispyb/api/v1/samples/images/900001"}}),
        image,
        "image",
    );
    assert_eq!(app.get("/samples/images?blSampleId=2", Some(&abcd)).await.json["total"], 0);
    // Visible, but no data root holds the file: the route's 404, no path in the detail.
    let r = app.get("/samples/images/900001", Some(&abcd)).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Sample image not found"})));
    let pasteur = app.login("pasteur").await;
    let r = app.get("/samples/images/900001", Some(&pasteur)).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Sample image not found"})));
    assert_eq!(app.get("/samples/images", Some(&pasteur)).await.json["total"], 0);
    app.finish().await;
}

#[tokio::test]
async fn lookups_for_the_sample_editor() {
    let app = TestApp::ispyb().await;
    exec(
        &app,
        &[
            "INSERT INTO Component (componentId, componentTypeId, proposalId, name) VALUES
             (900001, 6, NULL, 'Water'), (900002, 6, 1, 'blc buffer'), (900003, 5, 9096, 'mx1 ligand')",
            "INSERT INTO ConcentrationType (concentrationTypeId, name, symbol) VALUES (1, 'Molar', 'M')",
        ],
    )
    .await;
    let pasteur = app.login("pasteur").await;
    let abcd = app.login("abcd").await;
    let curie = app.login("curie").await;
    let components = |token: &str, q: &'static str| {
        let app = &app;
        let token = token.to_string();
        async move {
            let r = app.get(&format!("/samples/components?{q}"), Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            ids(&r.json, "componentId")
        }
    };
    assert_eq!(components(&pasteur, "").await, vec![900001, 900003]);
    assert_eq!(components(&abcd, "").await, vec![900001, 900002]);
    assert_eq!(components(&curie, "").await, vec![900001], "site-wide components only");
    assert_eq!(components(&pasteur, "proposal=MX1&limit=1000").await, vec![900001, 900003]);
    assert_eq!(components(&pasteur, "proposal=blc00001").await, Vec::<u64>::new(), "not visible: nothing");
    assert_eq!(components(&pasteur, "proposal=XX99").await, Vec::<u64>::new(), "unknown: nothing");
    assert_eq!(components(&pasteur, "skip=1&limit=1").await, vec![900003]);
    let r = app.get("/samples/components?proposal=MX1", Some(&pasteur)).await;
    assert_eq!(
        r.json["results"][1],
        json!({"componentId": 900003, "componentTypeId": 5, "proposalId": 9096, "name": "mx1 ligand",
               "composition": null, "ComponentType": {"componentTypeId": 5, "name": "Ligand"}})
    );

    let r = app.get("/samples/components/types", Some(&curie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json.as_array().unwrap().len(), 7);
    assert_eq!(r.json[0], json!({"componentTypeId": 1, "name": "Protein"}));
    let r = app.get("/samples/concentration/types", Some(&curie)).await;
    assert_eq!(r.json, json!([{"concentrationTypeId": 1, "name": "Molar", "symbol": "M"}]));
    for path in ["/samples/components", "/samples/components/types", "/samples/concentration/types"] {
        assert_eq!(app.get(path, None).await.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    app.finish().await;
}

#[tokio::test]
async fn the_openapi_document_names_the_sample_status_enum() {
    let app = TestApp::ispyb().await;
    let doc = app.get("/openapi.json", None).await.json;
    let status = &doc["components"]["schemas"]["SampleStatus"];
    assert_eq!(status["enum"], json!(["Sample Action", "Data Collected", "Strategy", "Auto Integrated"]), "{status}");
    let params = doc["paths"]["/ispyb/api/v1/samples"]["get"]["parameters"].as_array().unwrap();
    let param = params.iter().find(|p| p["name"] == "status").unwrap();
    assert!(param.to_string().contains("#/components/schemas/SampleStatus"), "{param}");
    for schema in ["Sample", "SampleCreate", "SampleUpdate", "SubSample", "SampleImage", "Protein", "Component"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} missing");
    }
    app.finish().await;
}

fn new_crystal_body() -> Value {
    json!({
        "name": "new sample",
        "comments": "first",
        "location": 4,
        "containerId": 900001,
        "loopType": "Injector",
        "Crystal": {
            "Protein": {"proteinId": 382871},
            "cell_a": 10.5, "cell_b": 11, "size_X": 2,
            "crystal_compositions": [{"Component": {"name": "PEG", "ComponentType": {"name": "Buffer"}}, "abundance": 1.5}]
        },
        "sample_compositions": [
            {"Component": {"name": "PEG", "ComponentType": {"name": "Buffer"}}, "ratio": 2, "ph": 7,
             "ConcentrationType": {"concentrationTypeId": 1}},
            null
        ]
    })
}

#[tokio::test]
async fn create_update_and_delete_a_sample() {
    let app = TestApp::ispyb().await;
    mx1_samples(&app).await;
    exec(&app, &["INSERT INTO ConcentrationType (concentrationTypeId, name, symbol) VALUES (1, 'Molar', 'M')"]).await;
    let pasteur = app.login("pasteur").await;

    // A new crystal, a new component shared by the crystal and the sample.
    let components_before = count(&app, "Component").await;
    let r = send(&app, Method::POST, "/samples", &pasteur, new_crystal_body()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let created = r.json.clone();
    let id = created["blSampleId"].as_u64().unwrap();
    assert_superset(
        &json!({"name": "new sample", "comments": "first", "location": 4, "containerId": 900001, "loopType": "Injector",
                "Container": {"code": "mx1 puck"},
                "Crystal": {"cell_a": 10.5, "cell_b": 11.0, "cell_c": null, "size_X": 2.0,
                            "Protein": {"proposalId": "9096", "acronym": "P4H", "proteinId": 382871},
                            "crystal_compositions": [{"abundance": 1.5, "ratio": null,
                                                      "Component": {"name": "PEG", "proposalId": 9096, "ComponentType": {"name": "Buffer"}}}]},
                "sample_compositions": [{"ratio": 2.0, "ph": 7.0, "abundance": null,
                                         "ConcentrationType": {"concentrationTypeId": 1, "name": "Molar", "symbol": "M"},
                                         "Component": {"name": "PEG"}}],
                "_metadata": {"proposal": "MX1", "datacollections": 0, "subsamples": 0}}),
        &created,
        "created",
    );
    let peg = created["sample_compositions"][0]["componentId"].clone();
    assert_eq!(peg, created["Crystal"]["crystal_compositions"][0]["componentId"], "created once, used twice");
    assert_eq!(count(&app, "Component").await, components_before + 1);
    assert_eq!(app.get(&format!("/samples/{id}"), Some(&pasteur)).await.json, created, "GET answers what POST did");

    // The same new component again is reused; an existing crystal; an existing component by id.
    let r = send(
        &app,
        Method::POST,
        "/samples",
        &pasteur,
        json!({"name": "second", "Crystal": {"crystalId": 577507},
               "sample_compositions": [{"Component": {"name": "PEG", "ComponentType": {"componentTypeId": 6}}},
                                       {"Component": {"componentId": peg}}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(count(&app, "Component").await, components_before + 1);
    assert_eq!((r.json["Crystal"]["crystalId"].clone(), r.json["Container"].clone()), (json!(577507), Value::Null));
    let second = r.json["blSampleId"].as_u64().unwrap();

    // PATCH: only what is sent changes; null clears.
    let path = format!("/samples/{id}");
    let r = send(&app, Method::PATCH, &path, &pasteur, json!({"comments": "changed"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.json["comments"].clone(), r.json["name"].clone(), r.json["location"].clone()),
        (json!("changed"), json!("new sample"), json!(4))
    );
    let r =
        send(&app, Method::PATCH, &path, &pasteur, json!({"comments": null, "location": 7, "loopType": "Loop"})).await;
    assert_eq!(
        (r.json["comments"].clone(), r.json["location"].clone(), r.json["loopType"].clone()),
        (Value::Null, json!(7), json!("Loop"))
    );
    let crystal = created["Crystal"]["crystalId"].clone();
    let r = send(&app, Method::PATCH, &path, &pasteur, json!({"Crystal": {"crystalId": crystal, "cell_b": 20}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json["Crystal"]["cell_a"].clone(), r.json["Crystal"]["cell_b"].clone()), (json!(10.5), json!(20.0)));
    assert_eq!(r.json["Crystal"]["crystal_compositions"].as_array().unwrap().len(), 1, "compositions not sent: kept");

    // The object GET returned can be sent back as it is (the UI's editor does): nothing changes.
    let before = app.get(&path, Some(&pasteur)).await.json;
    let r = send(&app, Method::PATCH, &path, &pasteur, before.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json, before);

    let r = send(
        &app,
        Method::PATCH,
        &path,
        &pasteur,
        json!({"Crystal": {"crystalId": 577507}, "sample_compositions": []}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.json["Crystal"]["Protein"]["acronym"].clone(), r.json["sample_compositions"].clone()),
        (json!("Lys"), json!([]))
    );
    let r = send(&app, Method::PATCH, &path, &pasteur, json!({"containerId": null})).await;
    assert_eq!((r.json["containerId"].clone(), r.json["Container"].clone()), (Value::Null, Value::Null));

    // DELETE: 204, then gone; the crystal stays.
    let r = send(&app, Method::DELETE, &format!("/samples/{second}"), &pasteur, Value::Null).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(app.get(&format!("/samples/{second}"), Some(&pasteur)).await.status, StatusCode::NOT_FOUND);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM SampleComposition WHERE blSampleId = ?")
        .bind(second)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        send(&app, Method::DELETE, &format!("/samples/{second}"), &pasteur, Value::Null).await.status,
        StatusCode::NOT_FOUND
    );
    app.finish().await;
}

#[tokio::test]
async fn delete_refuses_samples_with_data() {
    let app = TestApp::ispyb().await;
    mx1_samples(&app).await;
    let pasteur = app.login("pasteur").await;
    let abcd = app.login("abcd").await;
    let samples_before = count(&app, "BLSample").await;
    for (token, id, detail) in [
        (&pasteur, 900002, "Sample cannot be deleted because it is associated with data collections"),
        (&pasteur, 900001, "Sample cannot be deleted because it is associated with sub samples"),
        (&abcd, 1, "Sample cannot be deleted because it is associated with data collections"),
    ] {
        let r = send(&app, Method::DELETE, &format!("/samples/{id}"), token, Value::Null).await;
        assert_eq!((r.status, r.json["detail"].as_str()), (StatusCode::CONFLICT, Some(detail)), "{id}: {}", r.text);
    }
    exec(&app, &["DELETE FROM BLSubSample WHERE blSubSampleId = 900001"]).await;
    let r = send(&app, Method::DELETE, "/samples/900001", &pasteur, Value::Null).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "the robot action is an experiment record");
    assert!(r.json["detail"].as_str().unwrap().contains("robot actions"), "{}", r.text);
    assert_eq!(count(&app, "BLSample").await, samples_before, "nothing deleted");
    assert_eq!(count(&app, "DataCollection WHERE dataCollectionId IN (900001, 900002)").await, 2);
    let r = send(&app, Method::DELETE, "/samples/900003", &abcd, Value::Null).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Sample not found"})));
    let r = send(&app, Method::DELETE, "/samples/900003", &pasteur, Value::Null).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.finish().await;
}

#[tokio::test]
async fn writes_check_authorization_before_writing() {
    let app = TestApp::ispyb().await;
    mx1_samples(&app).await;
    exec(
        &app,
        &["INSERT INTO Component (componentId, componentTypeId, proposalId, name) VALUES (900010, 6, 1, 'blc buffer')"],
    )
    .await;
    app.grant("newton", "all_proposals").await;
    let pasteur = app.login("pasteur").await;
    let newton = app.login("newton").await;
    let curie = app.login("curie").await;
    let tables = ["BLSample", "Crystal", "Component", "SampleComposition", "CrystalComposition"];
    let mut before = Vec::new();
    for t in tables {
        before.push(count(&app, t).await);
    }
    let cases: Vec<(&String, Value, StatusCode, Value)> = vec![
        (
            &pasteur,
            json!({"name": "x", "Crystal": {"crystalId": 1}}),
            StatusCode::NOT_FOUND,
            json!("Crystal not found"),
        ),
        (
            &pasteur,
            json!({"name": "x", "Crystal": {"Protein": {"proteinId": 1}}}),
            StatusCode::NOT_FOUND,
            json!("Protein not found"),
        ),
        (&curie, new_crystal_body(), StatusCode::NOT_FOUND, json!("Protein not found")),
        (
            &pasteur,
            json!({"name": "x", "Crystal": {"crystalId": 577506}, "containerId": 1}),
            StatusCode::NOT_FOUND,
            json!("Container not found"),
        ),
        (
            &pasteur,
            json!({"name": "x", "Crystal": {"crystalId": 577506}, "sample_compositions": [{"Component": {"componentId": 900010}}]}),
            StatusCode::NOT_FOUND,
            json!("Component not found"),
        ),
        (
            &newton,
            json!({"name": "x", "Crystal": {"crystalId": 577506}, "containerId": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{"loc": ["body", "containerId"], "msg": "the container belongs to another proposal than the crystal's protein", "type": "value_error"}]),
        ),
        (
            &newton,
            json!({"name": "x", "Crystal": {"crystalId": 577506}, "sample_compositions": [{"Component": {"componentId": 900010}}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{"loc": ["body", "sample_compositions", "0", "Component", "componentId"], "msg": "belongs to another proposal than the sample's protein", "type": "value_error"}]),
        ),
    ];
    for (token, body, status, detail) in cases {
        let r = send(&app, Method::POST, "/samples", token, body.clone()).await;
        assert_eq!((r.status, r.json["detail"].clone()), (status, detail), "{body}");
    }
    for (method, path) in [(Method::PATCH, "/samples/1"), (Method::DELETE, "/samples/1")] {
        let r = send(&app, method.clone(), path, &pasteur, json!({"comments": "x"})).await;
        assert_eq!(
            (r.status, r.json["detail"].as_str()),
            (StatusCode::NOT_FOUND, Some("Sample not found")),
            "{method} {path}"
        );
    }
    let r = send(&app, Method::PATCH, "/samples/900001", &pasteur, json!({"containerId": 1})).await;
    assert_eq!((r.status, r.json["detail"].as_str()), (StatusCode::NOT_FOUND, Some("Container not found")));
    let r = send(
        &app,
        Method::PATCH,
        "/samples/900001",
        &pasteur,
        json!({"Crystal": {"crystalId": 577507, "Protein": {"proteinId": 382871}}}),
    )
    .await;
    assert_eq!(r.json["detail"][0]["loc"], json!(["body", "Crystal", "Protein", "proteinId"]), "{}", r.text);
    let r = send(&app, Method::PATCH, "/samples/900001", &newton, json!({"Crystal": {"crystalId": 1}})).await;
    assert_eq!(
        r.json["detail"][0]["loc"],
        json!(["body", "Crystal"]),
        "crystal of blc00001 in MX1's container: {}",
        r.text
    );
    for (t, n) in tables.iter().zip(before) {
        assert_eq!(count(&app, t).await, n, "{t}: a refused write wrote nothing");
    }
    let sample: (Option<String>,) = sqlx::query_as("SELECT comments FROM BLSample WHERE blSampleId = 1")
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
    assert_eq!(sample.0, None);
    app.finish().await;
}

#[tokio::test]
async fn bad_bodies_are_422_naming_the_field() {
    let app = TestApp::ispyb().await;
    let pasteur = app.login("pasteur").await;
    let ok = json!({"crystalId": 577506});
    let long = "x".repeat(101);
    let cases: Vec<(Value, Vec<Value>)> = vec![
        (json!({}), vec![json!(["body", "name"])]),
        (json!({"name": "x"}), vec![json!(["body", "Crystal"])]),
        (json!({"name": 5, "Crystal": ok}), vec![json!(["body", "name"])]),
        (json!({"name": "x", "Crystal": {"cell_a": "big"}}), vec![json!(["body", "Crystal", "cell_a"])]),
        (json!({"name": "x", "Crystal": {"Protein": {}}}), vec![json!(["body", "Crystal", "Protein", "proteinId"])]),
        (json!({"name": "x", "Crystal": ok, "containerId": -1}), vec![json!(["body", "containerId"])]),
        (json!({"name": " ", "Crystal": ok}), vec![json!(["body", "name"])]),
        (json!({"name": long, "Crystal": ok}), vec![json!(["body", "name"])]),
        (json!({"name": "x", "Crystal": {}}), vec![json!(["body", "Crystal", "Protein"])]),
        (
            json!({"name": "x", "Crystal": ok, "location": -1, "loopType": "y".repeat(46)}),
            vec![json!(["body", "loopType"]), json!(["body", "location"])],
        ),
        (
            json!({"name": "x", "Crystal": ok, "sample_compositions": [{"Component": {"name": "c"}, "ph": 15}]}),
            vec![
                json!(["body", "sample_compositions", "0", "Component", "ComponentType"]),
                json!(["body", "sample_compositions", "0", "ph"]),
            ],
        ),
        (
            json!({"name": "x", "Crystal": ok, "sample_compositions": [{"Component": {"name": "c", "ComponentType": {"name": "Gas"}}}]}),
            vec![json!(["body", "sample_compositions", "0", "Component", "ComponentType"])],
        ),
        (
            json!({"name": "x", "Crystal": ok, "sample_compositions": [{"Component": {"name": "c", "ComponentType": {"componentTypeId": 6}},
                   "ConcentrationType": {"concentrationTypeId": 99}}]}),
            vec![json!(["body", "sample_compositions", "0", "ConcentrationType", "concentrationTypeId"])],
        ),
    ];
    let before = count(&app, "BLSample").await;
    for (body, locs) in cases {
        let r = send(&app, Method::POST, "/samples", &pasteur, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        let got: Vec<Value> = r.json["detail"].as_array().unwrap().iter().map(|e| e["loc"].clone()).collect();
        assert_eq!(got, locs, "{body}: {}", r.text);
    }
    let r = app
        .send(
            axum::http::Request::post("/ispyb/api/v1/samples")
                .header("authorization", format!("Bearer {pasteur}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!((r.status, r.json["detail"][0]["loc"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(["body"])));
    let r = send(&app, Method::PATCH, "/samples/1", &pasteur, json!({"name": null})).await;
    assert_eq!(r.json["detail"][0]["loc"], json!(["body", "name"]), "name cannot be cleared: {}", r.text);
    assert_eq!(count(&app, "BLSample").await, before);
    app.finish().await;
}

#[tokio::test]
async fn a_create_that_fails_half_way_leaves_nothing() {
    let app = TestApp::ispyb().await;
    mx1_samples(&app).await;
    exec(&app, &["INSERT INTO ConcentrationType (concentrationTypeId, name, symbol) VALUES (1, 'Molar', 'M')"]).await;
    // The last statement of the create (the sample's composition) fails in the database, after
    // the crystal, its composition, the component and the sample were written.
    sqlx::raw_sql(
        "CREATE TRIGGER fail_sample_composition BEFORE INSERT ON SampleComposition FOR EACH ROW
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'",
    )
    .execute(app.test_db.db.pool())
    .await
    .unwrap();
    let tables = ["BLSample", "Crystal", "Component", "CrystalComposition", "SampleComposition"];
    let mut before = Vec::new();
    for t in tables {
        before.push(count(&app, t).await);
    }
    let pasteur = app.login("pasteur").await;
    let r = send(&app, Method::POST, "/samples", &pasteur, new_crystal_body()).await;
    assert_eq!(
        (r.status, r.json.clone()),
        (StatusCode::INTERNAL_SERVER_ERROR, json!({"detail": "Internal Server Error"}))
    );
    for (t, n) in tables.iter().zip(&before) {
        assert_eq!(count(&app, t).await, *n, "{t}: rolled back");
    }
    // The same failure in a PATCH leaves the sample as it was.
    let r = send(
        &app,
        Method::PATCH,
        "/samples/900001",
        &pasteur,
        json!({"name": "renamed", "Crystal": {"Protein": {"proteinId": 382872}},
               "sample_compositions": [{"Component": {"name": "NaCl", "ComponentType": {"name": "Buffer"}}}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let alpha = app.get("/samples/900001", Some(&pasteur)).await.json;
    assert_eq!((alpha["name"].clone(), alpha["Crystal"]["crystalId"].clone()), (json!("alpha"), json!(577506)));
    for (t, n) in tables.iter().zip(&before) {
        assert_eq!(count(&app, t).await, *n, "{t}: rolled back");
    }
    sqlx::raw_sql("DROP TRIGGER fail_sample_composition").execute(app.test_db.db.pool()).await.unwrap();
    let r = send(&app, Method::POST, "/samples", &pasteur, new_crystal_body()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.finish().await;
}

/// The lists on the `dls` schema (different column case, offsets, sub-sample types, queues).
#[tokio::test]
async fn lists_work_on_the_dls_schema() {
    let test_db = ispyb_db::testing::TestDb::real(ispyb_db::Flavour::Dls).await;
    let app = TestApp::with(test_db, crate::helpers::config(&[])).await;
    app.grant("boaty", "all_proposals").await;
    let token = app.login("boaty").await;
    for (path, total) in [
        ("/proteins", 15),
        ("/samples", 21), // the 22nd has no crystal, hence no protein and no proposal
        ("/samples/sub", 2),
        ("/samples/images", 2),
        ("/samples/components", -1),
        ("/samples?proposal=cm14451", 6),
        ("/samples?status=Data%20Collected", -1),
        ("/samples?order_by=datacollections", 21),
        ("/samples?order_by=location&order=asc", 21),
        ("/samples/sub?order_by=datacollections", 2),
        ("/proteins?order_by=name", 15),
    ] {
        let r = app.get(path, Some(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        if total >= 0 {
            assert_eq!(r.json["total"], total, "{path}");
        }
    }
    for path in [
        "/samples/398816",
        "/samples/sub/2",
        "/proteins/121393",
        "/samples/components/types",
        "/samples/concentration/types",
    ] {
        let r = app.get(path, Some(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    let r = app.get("/samples/images?blSampleId=398816", Some(&token)).await;
    assert_eq!(r.json["results"][0]["offsetX"], 0);
    assert_eq!(app.get("/samples/398816", Some(&token)).await.json["_metadata"]["queued"], false);
    let r = app.get("/samples/concentration/types", Some(&token)).await;
    assert!(!r.json.as_array().unwrap().is_empty(), "the dls schema has concentration types");

    // Writes too (the composition's pH column is spelled differently there).
    let r = send(
        &app,
        Method::POST,
        "/samples",
        &token,
        json!({"name": "dls sample", "Crystal": {"Protein": {"proteinId": 121393}, "cell_a": 5},
               "sample_compositions": [{"Component": {"name": "dls buffer", "ComponentType": {"name": "Buffer"}}, "ph": 6.5}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["sample_compositions"][0]["ph"], 6.5);
    let id = r.json["blSampleId"].as_u64().unwrap();
    let r = send(&app, Method::PATCH, &format!("/samples/{id}"), &token, json!({"name": "dls sample 2"})).await;
    assert_eq!((r.status, r.json["name"].as_str()), (StatusCode::OK, Some("dls sample 2")));
    let r = send(&app, Method::DELETE, &format!("/samples/{id}"), &token, Value::Null).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r =
        send(&app, Method::POST, "/samples", &token, json!({"name": "x".repeat(46), "Crystal": {"crystalId": 310037}}))
            .await;
    assert_eq!(r.json["detail"][0]["msg"], "ensure this value has at most 45 characters", "the dls column is shorter");
    app.finish().await;
}
