//! `/datacollections/*`: attachments, quality indicators, workflow steps, snapshots and
//! thumbnails; every file route refuses paths outside the data roots.

use axum::http::{Method, StatusCode, header};
use serde_json::json;

use crate::events::{DataRoot, app_with_root, exec};
use crate::helpers::{TestApp, assert_superset, py_ispyb_response};

#[tokio::test]
async fn lists_match_py_ispyb() {
    let app = TestApp::ispyb().await;
    let token = app.login("abcd").await;
    for (name, q) in [
        ("dc_attachments_abcd", "/datacollections/attachments?dataCollectionId=1"),
        ("dc_quality_abcd", "/datacollections/quality?dataCollectionId=1"),
    ] {
        let r = app.get(q, Some(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
        assert_superset(&py_ispyb_response(name), &r.json, name);
    }
    app.finish().await;
}

#[tokio::test]
async fn attachments_list_and_download() {
    let root = DataRoot::new("dcatt");
    let app = app_with_root(&root).await;
    let log = root.file("bl/blc00001/dc1/collect.log", b"line 1\nline 2\n");
    exec(&app, &format!("INSERT INTO DataCollectionFileAttachment (dataCollectionFileAttachmentId, dataCollectionId, fileFullPath, fileType) VALUES (5, 1, '{log}', 'log'), (6, 1, '{}/bl/gone.xy', 'xy')", root.path())).await;
    let token = app.login("abcd").await;
    let r = app.get("/datacollections/attachments?dataCollectionId=1", Some(&token)).await;
    assert_eq!(r.json["total"], 2, "{}", r.text);
    assert_eq!(
        r.json["results"][0],
        json!({"dataCollectionFileAttachmentId": 5, "dataCollectionId": 1, "fileFullPath": log, "fileType": "log",
               "createTime": r.json["results"][0]["createTime"],
               "_metadata": {"url": "/ispyb/api/v1/datacollections/attachments/5", "fileName": "collect.log"}})
    );
    let r = app.get("/datacollections/attachments?dataCollectionGroupId=1&limit=1&skip=1", Some(&token)).await;
    assert_eq!(
        (r.json["total"].clone(), r.json["results"][0]["dataCollectionFileAttachmentId"].clone()),
        (json!(2), json!(6))
    );
    let r = app.get("/datacollections/attachments?dataCollectionId=2", Some(&token)).await;
    assert_eq!(r.json["total"], 0);

    let r = app.get("/datacollections/attachments/5", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text, "line 1\nline 2\n");
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(
        r.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment; filename=\"collect.log\"")
    );
    let r = app.get("/datacollections/attachments/6", Some(&token)).await;
    assert_eq!(
        (r.status, r.json.clone()),
        (StatusCode::NOT_FOUND, json!({"detail": "Data collection attachment not found"}))
    );
    let r = app.get("/datacollections/attachments/999", Some(&token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A one-time token for the download path, as py-ispyb-ui's download links.
    let r = app
        .request(
            Method::POST,
            "/ispyb/api/v1/user/sign",
            Some(&token),
            Some(json!({"validity": "/ispyb/api/v1/datacollections/attachments/5"})),
        )
        .await;
    let once = r.json["token"].as_str().unwrap().to_string();
    let r = app.get(&format!("/datacollections/attachments/5?onetime={once}"), None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "line 1\nline 2\n"));

    // Another proposal's caller: not in the list, 404 on download.
    let other = app.login("pasteur").await;
    let r = app.get("/datacollections/attachments?dataCollectionId=1", Some(&other)).await;
    assert_eq!(r.json["total"], 0);
    let r = app.get("/datacollections/attachments/5", Some(&other)).await;
    assert_eq!(
        (r.status, r.json.clone()),
        (StatusCode::NOT_FOUND, json!({"detail": "Data collection attachment not found"}))
    );
    app.finish().await;
}

#[tokio::test]
async fn quality_indicators_as_lists() {
    let app = TestApp::ispyb().await;
    exec(&app, "INSERT INTO ImageQualityIndicators (dataCollectionId, imageNumber, totalIntegratedSignal, goodBraggCandidates, method2Res, autoProcProgramId) VALUES
        (1, 2, 20.5, 7, 2.5, 1), (1, 1, 10.5, 3, NULL, 1), (1, 3, NULL, 9, 1.5, 1)").await;
    let token = app.login("abcd").await;
    let r = app.get("/datacollections/quality?dataCollectionId=1", Some(&token)).await;
    assert_eq!(
        r.json,
        json!({"total": 3, "skip": 0, "limit": 25, "results": [{"dataCollectionId": 1, "imageNumber": [1, 2, 3],
            "totalIntegratedSignal": [10.5, 20.5], "goodBraggCandidates": [3, 7, 9], "method2Res": [2.5, 1.5]}]})
    );
    let r = app.get("/datacollections/quality?dataCollectionId=1&skip=1&limit=1", Some(&token)).await;
    assert_eq!(r.json["results"][0]["imageNumber"], json!([2]));
    let other = app.login("pasteur").await;
    let r = app.get("/datacollections/quality?dataCollectionId=1", Some(&other)).await;
    assert_eq!(r.json["results"][0]["imageNumber"], json!(null));
    app.finish().await;
}

#[tokio::test]
async fn workflow_steps_and_their_files() {
    let root = DataRoot::new("wf");
    let app = app_with_root(&root).await;
    let image = root.file("wf/step.png", b"PNG");
    let result = root.file("wf/result.json", b"{}");
    exec(&app, "INSERT INTO Workflow (workflowId, workflowTitle, workflowType, status) VALUES (7, 'mesh', 'MeshScan', 'Success')").await;
    exec(&app, "UPDATE DataCollectionGroup SET workflowId = 7 WHERE dataCollectionGroupId = 1").await;
    exec(
        &app,
        &format!(
            "INSERT INTO WorkflowStep (workflowStepId, workflowId, workflowStepType, status, imageResultFilePath, resultFilePath, htmlResultFilePath)
             VALUES (8, 7, 'Mesh', 'Success', '{image}', '{result}', '/etc/passwd'), (9, 7, 'Dozor', 'Failure', NULL, '{}/wf/../../../etc/passwd', NULL)",
            root.path()
        ),
    )
    .await;
    let token = app.login("abcd").await;
    let r = app.get("/datacollections/workflows/steps?workflowId=7", Some(&token)).await;
    assert_eq!(r.json["total"], 2, "{}", r.text);
    assert_eq!(r.json["results"][0]["workflowStepType"], "Mesh");
    assert_eq!(
        r.json["results"][0]["_metadata"],
        json!({"attachments": {"htmlResultFilePath": false, "imageResultFilePath": true, "resultFilePath": true}})
    );
    assert_eq!(
        r.json["results"][1]["_metadata"]["attachments"],
        json!({"htmlResultFilePath": false, "imageResultFilePath": false, "resultFilePath": false})
    );
    let r = app.get("/datacollections/workflows/steps?workflowStepId=9", Some(&token)).await;
    assert_eq!(r.json["total"], 1);
    // The event's data collection group carries its workflow.
    let r = app.get("/events?sessionId=1", Some(&token)).await;
    assert_eq!(r.json["results"][0]["Item"]["DataCollectionGroup"]["Workflow"]["workflowType"], "MeshScan");

    let r = app.get("/datacollections/workflows/steps/8?attachmentType=imageResultFilePath", Some(&token)).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "PNG"));
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
    let r = app.get("/datacollections/workflows/steps/8?attachmentType=resultFilePath", Some(&token)).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "{}"));
    for q in
        ["9?attachmentType=resultFilePath", "9?attachmentType=imageResultFilePath", "99?attachmentType=resultFilePath"]
    {
        let r = app.get(&format!("/datacollections/workflows/steps/{q}"), Some(&token)).await;
        assert_eq!(
            (r.status, r.json.clone()),
            (StatusCode::NOT_FOUND, json!({"detail": "Workflow step attachment not found"})),
            "{q}"
        );
    }
    for q in ["8", "8?attachmentType=htmlResultFilePath"] {
        let r = app.get(&format!("/datacollections/workflows/steps/{q}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    let other = app.login("pasteur").await;
    let r = app.get("/datacollections/workflows/steps?workflowId=7", Some(&other)).await;
    assert_eq!(r.json["total"], 0);
    let r = app.get("/datacollections/workflows/steps/8?attachmentType=imageResultFilePath", Some(&other)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

#[tokio::test]
async fn snapshots_and_thumbnails() {
    let root = DataRoot::new("snaps");
    let outside = DataRoot::new("snaps-out");
    let app = app_with_root(&root).await;
    let full = root.file("bl/dc1/snap1.png", b"FULL");
    root.file("bl/dc1/snap1t.png", b"THUMB");
    let second = root.file("bl/dc1/snap2.jpg", b"JPEG2");
    let secret = outside.file("secret.png", b"SECRET");
    std::os::unix::fs::symlink(&secret, root.0.join("bl/dc1/link.png")).unwrap();
    let plot = root.file("bl/dc1/plot.png", b"PLOT");
    let jpeg = root.file("bl/dc1/diff.jpeg", b"DIFF");
    let thumb = root.file("bl/dc1/diff_t.jpeg", b"DIFFT");
    exec(
        &app,
        &format!(
            "UPDATE DataCollection SET xtalSnapshotFullPath1 = '{full}', xtalSnapshotFullPath2 = '{second}',
             xtalSnapshotFullPath3 = '{secret}', xtalSnapshotFullPath4 = '{}/bl/dc1/link.png',
             imageQualityIndicatorsPlotPath = '{plot}' WHERE dataCollectionId = 1",
            root.path()
        ),
    )
    .await;
    exec(&app, &format!("INSERT INTO Image (dataCollectionId, imageNumber, jpegFileFullPath, jpegThumbnailFileFullPath) VALUES (1, 1, '{jpeg}', '{thumb}')")).await;
    let token = app.login("abcd").await;
    let get = |q: &'static str| {
        let app = &app;
        let token = token.clone();
        async move { app.get(q, Some(&token)).await }
    };
    let r = get("/datacollections/images/1").await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "FULL"));
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(get("/datacollections/images/1?snapshot=true").await.text, "THUMB");
    // No thumbnail: the full image.
    assert_eq!(get("/datacollections/images/1?imageId=2&snapshot=true").await.text, "JPEG2");
    assert_eq!(get("/datacollections/images/1?imageId=2").await.headers[header::CONTENT_TYPE], "image/jpeg");
    // Outside the roots, directly or through a link: 404 and nothing served.
    for q in ["/datacollections/images/1?imageId=3", "/datacollections/images/1?imageId=4"] {
        let r = get(q).await;
        assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Image not found"})), "{q}");
        assert!(!r.text.contains("SECRET"));
    }
    for q in ["/datacollections/images/1?imageId=5", "/datacollections/images/1?imageId=0", "/datacollections/images/x"]
    {
        assert_eq!(get(q).await.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    assert_eq!(get("/datacollections/images/quality/1").await.text, "PLOT");
    assert_eq!(get("/datacollections/images/diffraction/1").await.text, "DIFF");
    assert_eq!(get("/datacollections/images/diffraction/1?snapshot=true").await.text, "DIFFT");
    for q in
        ["/datacollections/images/99", "/datacollections/images/quality/99", "/datacollections/images/diffraction/99"]
    {
        assert_eq!(get(q).await.status, StatusCode::NOT_FOUND, "{q}");
    }
    let other = app.login("pasteur").await;
    for q in ["/datacollections/images/1", "/datacollections/images/quality/1", "/datacollections/images/diffraction/1"]
    {
        let r = app.get(q, Some(&other)).await;
        assert_eq!((r.status, r.json.clone()), (StatusCode::NOT_FOUND, json!({"detail": "Image not found"})), "{q}");
    }
    app.finish().await;
}

/// Every file route refuses `..`, relative paths, paths outside the roots and links out of
/// them: 404, and none of the file's bytes.
#[tokio::test]
async fn file_routes_refuse_traversal() {
    let root = DataRoot::new("trav");
    let outside = DataRoot::new("trav-out");
    let app = app_with_root(&root).await;
    let secret = outside.file("secret.txt", b"TOP-SECRET");
    std::os::unix::fs::symlink(outside.0.clone(), root.0.join("escape")).unwrap();
    root.file("bl/ok.txt", b"fine");
    let r = root.path();
    let bad_paths = [
        format!("{r}/bl/../../{}", secret.trim_start_matches('/')),
        format!("{r}/escape/secret.txt"),
        secret.clone(),
        "relative/secret.txt".to_string(),
        format!("{r}/bl"),
    ];
    let token = app.login("abcd").await;
    exec(&app, "INSERT INTO Workflow (workflowId) VALUES (7)").await;
    exec(&app, "UPDATE DataCollectionGroup SET workflowId = 7 WHERE dataCollectionGroupId = 1").await;
    exec(
        &app,
        "INSERT INTO AutoProcIntegration (autoProcIntegrationId, dataCollectionId, autoProcProgramId) VALUES (1, 1, 3)",
    )
    .await;
    for (i, bad) in bad_paths.iter().enumerate() {
        let (dir, name) = bad.rsplit_once('/').unwrap_or((".", bad));
        exec(&app, "DELETE FROM DataCollectionFileAttachment").await;
        exec(&app, "DELETE FROM WorkflowStep").await;
        exec(&app, "DELETE FROM Image").await;
        exec(&app, &format!("INSERT INTO DataCollectionFileAttachment (dataCollectionFileAttachmentId, dataCollectionId, fileFullPath, fileType) VALUES (5, 1, '{bad}', 'log')")).await;
        exec(&app, &format!("INSERT INTO WorkflowStep (workflowStepId, workflowId, imageResultFilePath, resultFilePath) VALUES (8, 7, '{bad}', '{bad}')")).await;
        exec(&app, &format!("INSERT INTO Image (dataCollectionId, imageNumber, jpegFileFullPath, jpegThumbnailFileFullPath) VALUES (1, 1, '{bad}', '{bad}')")).await;
        exec(&app, &format!("UPDATE DataCollection SET xtalSnapshotFullPath1 = '{bad}', imageQualityIndicatorsPlotPath = '{bad}' WHERE dataCollectionId = 1")).await;
        exec(&app, &format!("UPDATE AutoProcProgramAttachment SET filePath = '{dir}', fileName = '{name}' WHERE autoProcProgramAttachmentId = 1")).await;
        for route in [
            "/datacollections/attachments/5",
            "/datacollections/workflows/steps/8?attachmentType=imageResultFilePath",
            "/datacollections/workflows/steps/8?attachmentType=resultFilePath",
            "/datacollections/images/1",
            "/datacollections/images/1?snapshot=true",
            "/datacollections/images/quality/1",
            "/datacollections/images/diffraction/1",
            "/datacollections/images/diffraction/1?snapshot=true",
            "/processings/attachments/1",
        ] {
            let resp = app.get(route, Some(&token)).await;
            assert_eq!(resp.status, StatusCode::NOT_FOUND, "path {i} `{bad}` via {route}: {}", resp.text);
            assert!(!resp.text.contains("TOP-SECRET"), "{route}");
            assert!(!resp.text.contains(&secret), "the path is not echoed: {route}");
        }
        let r = app.get("/events?sessionId=1", Some(&token)).await;
        assert_eq!(r.json["results"][0]["Item"]["_metadata"]["snapshots"]["1"], false, "{bad}");
    }
    // The same routes serve a file inside the root.
    exec(&app, &format!("UPDATE AutoProcProgramAttachment SET filePath = '{r}/bl', fileName = 'ok.txt' WHERE autoProcProgramAttachmentId = 1")).await;
    let resp = app.get("/processings/attachments/1", Some(&token)).await;
    assert_eq!((resp.status, resp.text.as_str()), (StatusCode::OK, "fine"));
    app.finish().await;
}
