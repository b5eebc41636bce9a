//! `/processings/*`: statuses (constant cost), programs, auto-integrations, screenings,
//! messages and attachments, on both schema flavours.

use std::sync::Once;

use axum::http::{Method, StatusCode};
use ispyb_api::metrics;
use ispyb_db::Flavour;
use ispyb_db::testing::TestDb;
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::events::exec;
use crate::helpers::{TestApp, config};

fn encoded(ids: &[u32]) -> String {
    let list = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    format!("%5B{list}%5D")
}

#[tokio::test]
async fn statuses_of_several_data_collections() {
    let app = TestApp::ispyb().await;
    let token = app.login("abcd").await;
    let r = app.get("/processings/status?dataCollectionIds=%5B1%5D", Some(&token)).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::OK, json!({"statuses": {}})), "py-ISPyB's answer for dc 1");

    exec(&app, "INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId) VALUES (2, 1)").await;
    exec(&app, "INSERT INTO AutoProcProgram (autoProcProgramId, processingPrograms, processingStatus) VALUES (10, 'xia2', 'SUCCESS'), (11, 'xia2', 'FAILED')").await;
    exec(
        &app,
        "INSERT INTO AutoProcIntegration (dataCollectionId, autoProcProgramId) VALUES (1, 10), (1, 11), (1, 3), (2, 1)",
    )
    .await;
    exec(&app, "INSERT INTO Screening (screeningId, dataCollectionGroupId, programVersion) VALUES (20, 1, 'EDNA')")
        .await;
    exec(&app, "INSERT INTO ScreeningOutput (screeningId, strategySuccess, indexingSuccess) VALUES (20, 1, 0)").await;
    exec(&app, "INSERT INTO Movie (movieId, dataCollectionId) VALUES (30, 2), (31, 2)").await;
    exec(&app, "INSERT INTO MotionCorrection (motionCorrectionId, movieId) VALUES (40, 30)").await;
    let r = app.get(&format!("/processings/status?dataCollectionIds={}", encoded(&[1, 2, 999])), Some(&token)).await;
    assert_eq!(
        r.json,
        json!({"statuses": {
            "1": {"screening": {"EDNA": [{"status": 1, "indexingSuccess": 0}]},
                  "autoIntegration": {"test program": [{"status": null, "autoProcProgramId": 3}],
                                      "xia2": [{"status": 1, "autoProcProgramId": 10}, {"status": 0, "autoProcProgramId": 11}]}},
            "2": {"screening": {"EDNA": [{"status": 1, "indexingSuccess": 0}]},
                  "autoIntegration": {"test program": [{"status": null, "autoProcProgramId": 1}]},
                  "em": {"movie": 2, "motionCorrection": 1, "ctf": 0}}}}),
        "{}",
        r.text
    );
    let r = app.get("/processings/messages/status?dataCollectionIds=%5B1,2%5D", Some(&token)).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::OK, json!({"statuses": {}})), "no message table in ispyb");

    // Another proposal's caller learns nothing.
    let other = app.login("pasteur").await;
    let r = app.get("/processings/status?dataCollectionIds=%5B1,2%5D", Some(&other)).await;
    assert_eq!(r.json, json!({"statuses": {}}));

    // py-ISPyB's validation.
    for route in ["/processings/status", "/processings/messages/status"] {
        for (q, detail) in [
            ("", json!("Couldn't parse dataCollectionIds")),
            ("?dataCollectionIds=1", json!("Couldn't parse dataCollectionIds")),
            ("?dataCollectionIds=%5B%5D", json!("Couldn't parse dataCollectionIds")),
            ("?dataCollectionIds=%5B%22a%22%5D", json!("Couldn't parse dataCollectionIds")),
        ] {
            let r = app.get(&format!("{route}{q}"), Some(&token)).await;
            assert_eq!((r.status, r.json["detail"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, detail), "{route}{q}");
        }
        let r = app.get(&format!("{route}?dataCollectionIds=%5B1"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json["detail"][0]["msg"], "Invalid JSON");
    }
    app.finish().await;
}

static COUNTER: Once = Once::new();

/// The statement counter (the `x-sql-statements` header), installed once for this binary.
fn install_statement_counter() {
    COUNTER.call_once(|| {
        let _ = tracing_subscriber::registry().with(metrics::layer()).try_init();
    });
}

/// Statements of a request (and their text), the fewest of four runs: a run may also refresh
/// the site options cache (read at most every few seconds) or open a pool connection (whose
/// set-up statements count too).
async fn statements(app: &TestApp, path: &str, token: &str) -> (u64, Vec<String>) {
    let mut best = statements_once(app, path, token).await;
    for _ in 0..3 {
        let next = statements_once(app, path, token).await;
        if next.0 < best.0 {
            best = next;
        }
    }
    best
}

async fn statements_once(app: &TestApp, path: &str, token: &str) -> (u64, Vec<String>) {
    let (reply, sql) = metrics::capture(app.request(Method::GET, path, Some(token), None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    let n = match reply.headers.get(metrics::STATEMENT_HEADER) {
        Some(v) => v.to_str().unwrap().parse().unwrap(),
        None => sql.len() as u64,
    };
    (n, sql.iter().map(|s| s.chars().take(90).collect()).collect())
}

/// py-ispyb-ui polls the status routes every 10 s for every card of a session page: the cost
/// must not grow with the number of data collections.
#[tokio::test]
async fn status_routes_cost_a_fixed_number_of_statements() {
    install_statement_counter();
    let app = TestApp::ispyb().await;
    let mut values = Vec::new();
    for i in 0..50u32 {
        let id = 100 + i;
        values.push(format!("({id}, 1)"));
    }
    exec(
        &app,
        &format!("INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId) VALUES {}", values.join(", ")),
    )
    .await;
    let programs: Vec<String> = (0..50u32).map(|i| format!("({}, 'xia2', 'SUCCESS')", 1000 + i)).collect();
    exec(
        &app,
        &format!(
            "INSERT INTO AutoProcProgram (autoProcProgramId, processingPrograms, processingStatus) VALUES {}",
            programs.join(", ")
        ),
    )
    .await;
    let links: Vec<String> = (0..50u32).map(|i| format!("({}, {})", 100 + i, 1000 + i)).collect();
    exec(
        &app,
        &format!("INSERT INTO AutoProcIntegration (dataCollectionId, autoProcProgramId) VALUES {}", links.join(", ")),
    )
    .await;
    let token = app.login("abcd").await;
    let one: Vec<u32> = vec![100];
    let fifty: Vec<u32> = (100..150).collect();
    for route in ["/processings/status", "/processings/messages/status"] {
        // Warm the site options cache (read at most every few seconds) before counting.
        statements(&app, &format!("/ispyb/api/v1{route}?dataCollectionIds={}", encoded(&one)), &token).await;
        let (a, sa) =
            statements(&app, &format!("/ispyb/api/v1{route}?dataCollectionIds={}", encoded(&one)), &token).await;
        let (b, sb) =
            statements(&app, &format!("/ispyb/api/v1{route}?dataCollectionIds={}", encoded(&fifty)), &token).await;
        if metrics::installed() {
            assert_eq!(a, b, "{route}: {a} statements for 1 data collection {sa:#?}, {b} for 50 {sb:#?}");
            assert!(b <= 8, "{route}: {b} statements");
        }
    }
    let r = app.get(&format!("/processings/status?dataCollectionIds={}", encoded(&fifty)), Some(&token)).await;
    assert_eq!(r.json["statuses"].as_object().unwrap().len(), 50);
    assert_eq!(
        r.json["statuses"]["149"]["autoIntegration"]["xia2"][0],
        json!({"status": 1, "autoProcProgramId": 1049})
    );
    // Events (polled too): the page's entities cost a fixed number of statements.
    statements(&app, "/ispyb/api/v1/events?sessionId=1&limit=1", &token).await;
    let (small, _) = statements(&app, "/ispyb/api/v1/events?sessionId=1&dataCollectionGroupId=1&limit=1", &token).await;
    let (large, _) =
        statements(&app, "/ispyb/api/v1/events?sessionId=1&dataCollectionGroupId=1&limit=50", &token).await;
    if metrics::installed() {
        assert_eq!(small, large, "/events: {small} statements for 1 row, {large} for 50");
    }
    app.finish().await;
}

#[tokio::test]
async fn programs_integrations_screenings_and_attachments_on_ispyb() {
    let app = TestApp::ispyb().await;
    exec(&app, "INSERT INTO AutoProcProgram (autoProcProgramId, dataCollectionId, processingPrograms, processingStatus, processingStartTime) VALUES
        (10, 1, 'xia2', 'SUCCESS', '2020-06-16 16:00:00'), (11, 1, 'dimple', 'FAILED', NULL)").await;
    exec(&app, "INSERT INTO AutoProcIntegration (autoProcIntegrationId, dataCollectionId, autoProcProgramId, refinedXBeam) VALUES (5, 1, 10, 150.5)").await;
    exec(&app, "INSERT INTO AutoProc (autoProcId, autoProcProgramId, spaceGroup, refinedCell_a) VALUES (6, 10, 'P 21 21 21', 78.5)").await;
    exec(&app, "INSERT INTO AutoProcScaling (autoProcScalingId, autoProcId) VALUES (7, 6)").await;
    exec(&app, "INSERT INTO AutoProcScaling_has_Int (autoProcScaling_has_IntId, autoProcScalingId, autoProcIntegrationId) VALUES (8, 7, 5)").await;
    exec(&app, "INSERT INTO AutoProcScalingStatistics (autoProcScalingId, scalingStatisticsType, resolutionLimitHigh, completeness) VALUES
        (7, 'overall', 1.5, 99.5), (7, 'outerShell', 1.5, 97.0)").await;
    exec(&app, "INSERT INTO AutoProcProgramAttachment (autoProcProgramAttachmentId, autoProcProgramId, fileType, fileName, filePath) VALUES (20, 10, 'Log', 'xia2.txt', '/data/x')").await;
    exec(&app, "INSERT INTO Screening (screeningId, dataCollectionId, programVersion) VALUES (30, 1, 'EDNA')").await;
    exec(&app, "INSERT INTO ScreeningOutput (screeningOutputId, screeningId, strategySuccess, indexingSuccess) VALUES (31, 30, 1, 1)").await;
    exec(&app, "INSERT INTO ScreeningOutputLattice (screeningOutputId, spaceGroup, unitCell_a) VALUES (31, 'P1', 50)")
        .await;
    exec(&app, "INSERT INTO ScreeningStrategy (screeningStrategyId, screeningOutputId, anomalous) VALUES (32, 31, 0)")
        .await;
    exec(&app, "INSERT INTO ScreeningStrategyWedge (screeningStrategyWedgeId, screeningStrategyId, wedgeNumber) VALUES (33, 32, 1)").await;
    exec(&app, "INSERT INTO ScreeningStrategySubWedge (screeningStrategyWedgeId, subWedgeNumber, axisStart) VALUES (33, 1, 10)").await;
    let token = app.login("abcd").await;

    let r = app.get("/processings/auto-integrations?dataCollectionId=1", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["total"], 1);
    let p = &r.json["results"][0];
    assert_eq!((p["autoProcProgramId"].clone(), p["processingStatus"].clone()), (json!(10), json!(1)));
    assert_eq!(p["processingStartTime"], "2020-06-16T16:00:00");
    assert_eq!(p["_metadata"], json!({"attachments": 1, "autoProcProgramMessages": []}));
    let int = &p["AutoProcIntegration"][0];
    assert_eq!(int["refinedXBeam"], 150.5);
    assert_eq!(int["DataCollection"], json!({"xBeam": null, "yBeam": null}));
    let scaling = &int["AutoProcScalingHasInt"][0]["AutoProcScaling"];
    assert_eq!(scaling["AutoProc"]["spaceGroup"], "P 21 21 21");
    assert_eq!(scaling["AutoProc"]["refinedCell_a"], 78.5);
    let stats: Vec<&Value> = scaling["AutoProcScalingStatistics"].as_array().unwrap().iter().collect();
    assert_eq!(
        stats.iter().map(|s| s["scalingStatisticsType"].clone()).collect::<Vec<_>>(),
        [json!("overall"), json!("outerShell")]
    );
    assert_eq!(stats[0]["completeness"], 99.5);

    // Programs that are not integrations (py-ISPyB: always 500 without ProcessingJob).
    let r = app.get("/processings?dataCollectionId=1", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["total"], 1);
    assert_eq!(r.json["results"][0]["processingPrograms"], "dimple");
    assert_eq!(r.json["results"][0]["processingStatus"], 0);
    assert_eq!(r.json["results"][0]["ProcessingJob"], Value::Null);

    let r = app.get("/processings/screenings?dataCollectionId=1", Some(&token)).await;
    assert_eq!(r.json["total"], 1, "{}", r.text);
    let out = &r.json["results"][0]["ScreeningOutput"][0];
    assert_eq!(out["ScreeningOutputLattice"][0]["spaceGroup"], "P1");
    assert_eq!(
        out["ScreeningStrategy"][0]["ScreeningStrategyWedge"][0]["ScreeningStrategySubWedge"][0]["axisStart"],
        10.0
    );

    let r = app.get("/processings/attachments?autoProcProgramId=10", Some(&token)).await;
    assert_eq!(r.json["total"], 1);
    assert_eq!(r.json["results"][0]["fileName"], "xia2.txt");
    assert_eq!(r.json["results"][0]["_metadata"]["url"], "/ispyb/api/v1/processings/attachments/20");
    let r = app.get("/processings/attachments/20", Some(&token)).await;
    assert_eq!(
        (r.status, r.json.clone()),
        (StatusCode::NOT_FOUND, json!({"detail": "Autoproc program attachment not found"}))
    );
    let r = app.get("/processings/messages?dataCollectionId=1", Some(&token)).await;
    assert_eq!((r.status, r.json["total"].clone()), (StatusCode::OK, json!(0)));

    // Another proposal's caller sees none of it.
    let other = app.login("pasteur").await;
    for q in [
        "/processings/auto-integrations?dataCollectionId=1",
        "/processings?dataCollectionId=1",
        "/processings/screenings?dataCollectionId=1",
        "/processings/attachments?autoProcProgramId=10",
    ] {
        let r = app.get(q, Some(&other)).await;
        assert_eq!((r.status, r.json["total"].clone()), (StatusCode::OK, json!(0)), "{q}");
    }
    app.finish().await;
}

#[tokio::test]
async fn processing_routes_on_the_dls_flavour() {
    let app = TestApp::with(TestDb::real(Flavour::Dls).await, config(&[])).await;
    exec(
        &app,
        "INSERT INTO AutoProcProgramMessage (autoProcProgramId, severity, message, description) VALUES
        (56986673, 'ERROR', 'failed', 'it failed'), (56986673, 'WARNING', 'hmm', ''), (56425592, 'INFO', 'ok', '')",
    )
    .await;
    exec(&app, "INSERT INTO AutoProcProgram (autoProcProgramId, processingJobId, processingPrograms, processingStatus) VALUES (77, 5, 'dimple', 0)").await;
    exec(&app, "UPDATE ProcessingJob SET automatic = 1").await;
    // boaty is on cm14451's sessions.
    let token = app.login("boaty").await;
    let r = app.get("/processings/messages/status?dataCollectionIds=%5B993677,1002287%5D", Some(&token)).await;
    assert_eq!(
        r.json,
        json!({"statuses": {"993677": {"errors": 0, "warnings": 0, "info": 1}, "1002287": {"errors": 1, "warnings": 1, "info": 0}}}),
        "{}",
        r.text
    );
    let r = app.get("/processings/status?dataCollectionIds=%5B1002287%5D", Some(&token)).await;
    let s = &r.json["statuses"]["1002287"];
    assert_eq!(s["processing"], json!({"dimple": [{"status": 0, "autoProcProgramId": 77}]}), "{}", r.text);
    assert_eq!(s["autoIntegration"]["fast_dp"], json!([{"status": 1, "autoProcProgramId": 56983954}]));

    let r = app.get("/processings?dataCollectionId=1002287", Some(&token)).await;
    assert_eq!(r.json["total"], 1, "{}", r.text);
    let job = &r.json["results"][0]["ProcessingJob"];
    assert_eq!(job["displayName"], "test job 01");
    assert_eq!(job["ProcessingJobParameters"].as_array().unwrap().len(), 2);

    let r = app.get("/processings/auto-integrations?dataCollectionId=1002287&limit=50", Some(&token)).await;
    assert_eq!(r.json["total"], 5, "{}", r.text);
    let xia2 = r.json["results"].as_array().unwrap().iter().find(|p| p["autoProcProgramId"] == 56986673).unwrap();
    assert_eq!(xia2["_metadata"]["autoProcProgramMessages"].as_array().unwrap().len(), 2);
    assert_eq!(xia2["processingJobId"], 5);
    let with_stats = r.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["AutoProcIntegration"].as_array().unwrap())
        .flat_map(|i| i["AutoProcScalingHasInt"].as_array().unwrap())
        .filter(|h| !h["AutoProcScaling"]["AutoProcScalingStatistics"].as_array().unwrap().is_empty())
        .count();
    assert!(with_stats > 0, "the reference data has scaling statistics");

    let r = app.get("/processings/messages?dataCollectionId=1002287", Some(&token)).await;
    assert_eq!(r.json["total"], 2, "{}", r.text);
    let r = app.get("/processings/screenings?dataCollectionId=1052494", Some(&token)).await;
    assert!(r.json["total"].as_u64().unwrap() > 0, "{}", r.text);
    let r = app.get("/processings/attachments?autoProcProgramId=56986673", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.get("/events?sessionId=55167", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["total"].as_u64().unwrap() > 0);
    let r = app.get("/events?sessionId=55167&status=processerror", Some(&token)).await;
    assert_eq!(r.json["total"], 1, "{}", r.text);
    app.finish().await;
}
