//! `/stats/*`: breakdown, times, errors, hourlies, energy histogram and runs.

use axum::http::StatusCode;
use ispyb_db::Flavour;
use ispyb_db::testing::TestDb;
use serde_json::json;

use crate::events::{DataRoot, app_with_root, exec};
use crate::helpers::{TestApp, config};

#[tokio::test]
async fn session_statistics() {
    let root = DataRoot::new("stats");
    let app = app_with_root(&root).await;
    let log1 = root.file("dc/collect_err1.log", b"starting\nDetector error at image 12\n\n");
    let log2 = root.file("dc/collect_err2.log", b"Detector error at image 13\n");
    // Session 1 (2020-01-01 to 2030): a sample load at 09:00, then three collections.
    exec(&app, "INSERT INTO DataCollectionGroup (dataCollectionGroupId, sessionId, experimentType, blSampleId) VALUES (50, 1, 'OSC', 1)").await;
    exec(&app, "INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId, startTime, endTime, runStatus, wavelength) VALUES
        (51, 50, '2020-06-17 09:05:00', '2020-06-17 09:35:00', 'Data collection successful', 0.979),
        (52, 50, '2020-06-17 10:00:00', '2020-06-17 10:06:00', 'Data collection failed', 0.979),
        (53, 50, '2020-06-17 10:10:00', '2020-06-17 10:16:00', 'Data collection failed', 1.5),
        (54, 50, '2020-06-17 11:00:00', '2020-06-17 11:01:00', 'Aborted', 1.5)").await;
    exec(&app, &format!("INSERT INTO DataCollectionFileAttachment (dataCollectionId, fileFullPath, fileType) VALUES (52, '{log1}', 'log'), (53, '{log2}', 'log')")).await;
    exec(
        &app,
        "INSERT INTO RobotAction (blsessionId, blsampleId, actionType, startTimestamp, endTimestamp, status) VALUES
        (1, 1, 'LOAD', '2020-06-17 09:00:00', '2020-06-17 09:01:00', 'SUCCESS')",
    )
    .await;
    exec(&app, "INSERT INTO EnergyScan (sessionId, startTime, endTime) VALUES (1, '2020-06-17 12:00:00', '2020-06-17 12:06:00')").await;
    let token = app.login("abcd").await;

    let r = app.get("/stats/breakdown?sessionId=1", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let o = &r.json["overview"];
    assert_eq!(
        (o["sessionId"].clone(), o["session"].clone(), o["beamLineName"].clone()),
        (json!("1"), json!("blc00001-1"), json!("bl"))
    );
    assert_eq!(
        o["counts"],
        json!({"datacollections": 5, "failed": 0, "datacollectionTypes": {"": 1, "OSC": 4}, "robot": 1, "edge": 1, "xrf": 0})
    );
    let kinds: Vec<&str> =
        r.json["history"].as_array().unwrap().iter().map(|h| h["eventType"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "dc").count(), 5);
    assert!(kinds.contains(&"robot") && kinds.contains(&"edge") && kinds.contains(&"centring"), "{kinds:?}");
    let dc = r.json["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["eventType"] == "dc" && h["startTime"] == "2020-06-17T09:05:00")
        .unwrap();
    assert_eq!((dc["sample"].clone(), dc["subType"].clone()), (json!("sample1"), json!("OSC")));
    let series = r.json["plottables"]["series"].as_array().unwrap();
    assert_eq!(series[0]["title"], "energy");
    assert_eq!(series[0]["data"][1], 12664.0, "eV of 0.979 Å");
    assert_eq!(r.json["plottables"]["time"].as_array().unwrap().len(), 5);
    let r2 = app.get("/stats/breakdown?session=blc00001-1", Some(&token)).await;
    assert_eq!(r2.json, r.json, "by name");

    let r = app.get("/stats/times?sessionId=1", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let s = &r.json["sessions"][0];
    assert_eq!(s["sessionId"], 1);
    let close = |v: &serde_json::Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-3;
    assert!(close(&s["datacollection"], (49.0 + 30.0 * 60.0 + 12.0 * 60.0 + 60.0) / 3600.0), "{s}");
    assert!(close(&s["robot"], 1.0 / 60.0), "{s}");
    assert!(close(&s["edge"], 0.1), "{s}");
    assert!(close(&s["centring"], 4.0 / 60.0), "{s}");
    assert!(s["thinking"].as_f64().unwrap() >= 0.0);
    assert_eq!(r.json["average"], {
        let mut a = s.clone();
        a.as_object_mut().unwrap().remove("sessionId");
        a
    });

    let r = app.get("/stats/errors?sessionId=1", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let osc = r.json["totals"].as_array().unwrap().iter().find(|t| t["experimentType"] == "OSC").unwrap().clone();
    assert_eq!(
        osc,
        json!({"experimentType": "OSC", "total": 4, "failed": 2, "failedPercent": 50.0, "aborted": 1, "abortedPercent": 25.0,
               "messages": [{"count": 2, "message": "Detector error at image 12"}]})
    );

    let r = app.get("/stats/hourlies?sessionId=1", Some(&token)).await;
    assert_eq!(r.json["datacollections"]["hour"].as_array().unwrap().len(), 24);
    assert_eq!(r.json["datacollections"]["average"][10], 2.0);
    assert_eq!(r.json["loaded"]["average"][9], 1.0);
    let r = app.get("/stats/hourlies?proposal=blc00001", Some(&token)).await;
    assert_eq!(r.json["datacollections"]["average"][9], 1.0, "{}", r.text);

    let r = app.get("/stats/parameters/histogram?sessionId=1", Some(&token)).await;
    let bl = &r.json["beamLines"][0];
    assert_eq!(
        (r.json["parameter"].clone(), r.json["unit"].clone(), bl["beamLineName"].clone()),
        (json!("energy"), json!("eV"), json!("bl"))
    );
    let bins = bl["bin"].as_array().unwrap();
    assert_eq!((bins[0].clone(), bins.len()), (json!(1000), 120));
    let at = |e: i64| bl["frequency"][((e - 1000) / 200) as usize].clone();
    assert_eq!((at(12600), at(8200)), (json!(2), json!(2)), "{bl}");

    // Required combinations (py-ISPyB's messages), runs on a flavour without them.
    for (route, msg) in [
        ("/stats/breakdown", "Please provide either `session` or (`beamLineName` and `runId`)"),
        ("/stats/errors", "Please provide either `session` or (`beamLineName` and `runId`)"),
        ("/stats/times", "Please provide either `proposal` or `session` or (`beamLineName` and `runId`)"),
        ("/stats/hourlies", "Please provide either `proposal` or `session` or (`beamLineName` and `runId`)"),
        ("/stats/parameters/histogram", "Please provide either `session` or `runId`"),
    ] {
        let r = app.get(&format!("{route}?beamLineName=bl"), Some(&token)).await;
        assert_eq!((r.status, r.json["detail"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(msg)), "{route}");
        let r = app.get(&format!("{route}?beamLineName=bl&runId=1"), Some(&token)).await;
        assert_eq!((r.status, r.json["detail"].clone()), (StatusCode::NOT_FOUND, json!("Run not found")), "{route}");
    }
    let r = app.get("/stats/runs", Some(&token)).await;
    assert_eq!(r.json, json!({"total": 0, "results": [], "skip": 0, "limit": 25}));

    // Another proposal's caller.
    let other = app.login("pasteur").await;
    let r = app.get("/stats/breakdown?sessionId=1", Some(&other)).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Session not found"})));
    let r = app.get("/stats/times?sessionId=1", Some(&other)).await;
    assert_eq!(r.json["sessions"], json!([]));
    let r = app.get("/stats/errors?sessionId=1", Some(&other)).await;
    assert_eq!(r.json["totals"], json!([]));
    app.finish().await;
}

#[tokio::test]
async fn run_statistics_on_the_dls_flavour() {
    let app = TestApp::with(TestDb::real(Flavour::Dls).await, config(&[])).await;
    app.grant("boaty", "all_proposals").await;
    let token = app.login("boaty").await;
    let r = app.get("/stats/runs?limit=2", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["total"], 72);
    assert_eq!(
        r.json["results"][0],
        json!({"run": "2020-03", "runId": 72, "startDate": "2020-05-22T09:00:00", "endDate": "2020-08-14T08:59:59"})
    );
    // Run 2016-01 holds cm14451's first sessions.
    let run = sqlx::query_scalar::<_, i64>("SELECT CAST(v.runId AS SIGNED) FROM v_run v JOIN BLSession s ON s.startDate BETWEEN v.startDate AND v.endDate WHERE s.sessionId = 55167")
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
    let r = app.get(&format!("/stats/breakdown?beamLineName=i03&runId={run}"), Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["overview"]["run"].is_string());
    assert!(r.json["overview"]["counts"]["datacollections"].as_i64().unwrap() > 0, "{}", r.text);
    for route in ["/stats/times", "/stats/errors", "/stats/hourlies", "/stats/parameters/histogram"] {
        let r = app.get(&format!("{route}?beamLineName=i03&runId={run}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{route}: {}", r.text);
    }
    let r = app.get("/stats/breakdown?beamLineName=i03&runId=99999", Some(&token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

/// Error messages come from log files read through `files.rs`: a log outside the data roots,
/// or reached through `..` or a link out of them, is not read.
#[tokio::test]
async fn error_logs_outside_the_data_roots_are_not_read() {
    let root = DataRoot::new("stats-logs");
    let outside = DataRoot::new("stats-logs-out");
    let app = app_with_root(&root).await;
    let secret = outside.file("run_err.log", b"TOP-SECRET line\n");
    std::os::unix::fs::symlink(&secret, root.0.join("link_err.log")).unwrap();
    exec(
        &app,
        "INSERT INTO DataCollectionGroup (dataCollectionGroupId, sessionId, experimentType) VALUES (50, 1, 'OSC')",
    )
    .await;
    let paths = [
        secret.clone(),
        format!("{}/../{}", root.path(), secret.trim_start_matches('/')),
        format!("{}/link_err.log", root.path()),
    ];
    for (i, p) in paths.iter().enumerate() {
        let id = 60 + i;
        exec(&app, &format!("INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId, runStatus) VALUES ({id}, 50, 'failed')")).await;
        exec(&app, &format!("INSERT INTO DataCollectionFileAttachment (dataCollectionId, fileFullPath, fileType) VALUES ({id}, '{p}', 'log')")).await;
    }
    let token = app.login("abcd").await;
    let r = app.get("/stats/errors?sessionId=1", Some(&token)).await;
    let osc = r.json["totals"].as_array().unwrap().iter().find(|t| t["experimentType"] == "OSC").unwrap().clone();
    assert_eq!((osc["failed"].clone(), osc["messages"].clone()), (json!(3), json!([])), "{}", r.text);
    assert!(!r.text.contains("TOP-SECRET"));
    app.finish().await;
}
