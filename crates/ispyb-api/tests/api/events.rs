//! `/events` and `/events/types`: py-ISPyB's answers, filters, paging, visibility, snapshots.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_superset, config, py_ispyb_response};

/// A temporary folder (the data root of a test), removed on drop.
pub struct DataRoot(pub std::path::PathBuf);

impl DataRoot {
    pub fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ispyb-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir.canonicalize().unwrap())
    }

    /// Writes a file under the root and returns its absolute path.
    pub fn file(&self, rel: &str, bytes: &[u8]) -> String {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for DataRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The ispyb test data, served with `root` as the only data root.
pub async fn app_with_root(root: &DataRoot) -> TestApp {
    TestApp::with(ispyb_db::testing::TestDb::ispyb().await, config(&[("data_roots", root.path())])).await
}

pub async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(app.test_db.db.pool()).await.unwrap();
}

/// py-ISPyB reads the ESRF grid columns under names the schema does not have and always
/// answers null for them; we serve the values (docs/compatibility.md).
fn with_grid_values(mut v: Value) -> Value {
    for r in v["results"].as_array_mut().unwrap() {
        for g in r["Item"]["GridInfo"].as_array_mut().unwrap() {
            g["pixelsPerMicronX"] = json!(5.6338);
            g["pixelsPerMicronY"] = json!(-5.1338);
            g["snapshot_offsetXPixel"] = json!(482.058);
            g["snapshot_offsetYPixel"] = json!(562.012);
        }
    }
    v
}

fn approx(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|f| (f - want).abs() < 1e-4)
}

#[tokio::test]
async fn events_match_py_ispyb() {
    let app = TestApp::ispyb().await;
    let token = app.login("abcd").await;
    for (name, query) in [
        ("events_session1_abcd", "/events?sessionId=1"),
        ("events_session1_dcg1_abcd", "/events?sessionId=1&dataCollectionGroupId=1"),
    ] {
        let r = app.get(query, Some(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
        let mut expected = with_grid_values(py_ispyb_response(name));
        // GridInfo values are floats of FLOAT columns: compared approximately below.
        let grids = expected["results"][0]["Item"]["GridInfo"].take();
        let got = &r.json["results"][0]["Item"]["GridInfo"];
        for (e, g) in grids.as_array().unwrap().iter().zip(got.as_array().unwrap()) {
            for (k, v) in e.as_object().unwrap() {
                match v.as_f64() {
                    Some(f) => assert!(approx(&g[k], f), "{name} GridInfo.{k}: {} vs {f}", g[k]),
                    None => assert_eq!(&g[k], v, "{name} GridInfo.{k}"),
                }
            }
        }
        expected["results"][0]["Item"].as_object_mut().unwrap().remove("GridInfo");
        assert_superset(&expected, &r.json, name);
    }
    let r = app.get("/events/types?sessionId=1", Some(&token)).await;
    assert_eq!(r.json, py_ispyb_response("events_types_session1_abcd"));
    app.finish().await;
}

#[tokio::test]
async fn every_kind_of_event_with_filters_and_paging() {
    let app = TestApp::ispyb().await;
    // Session 1 (blc00001, abcd's): a second group of two data collections on a sample, a robot
    // action, an XRF spectrum and an energy scan; one attachment on the group's first collection.
    exec(&app, "INSERT INTO DataCollectionGroup (dataCollectionGroupId, sessionId, experimentType, blSampleId) VALUES (50, 1, 'OSC', 1)").await;
    exec(&app, "INSERT INTO DataCollection (dataCollectionId, dataCollectionGroupId, startTime, endTime, runStatus, blSubSampleId) VALUES
        (51, 50, '2020-06-17 10:00:00', '2020-06-17 10:01:00', 'Data collection successful', NULL),
        (52, 50, '2020-06-17 10:02:00', '2020-06-17 10:04:00', 'Data collection aborted', 1)").await;
    exec(&app, "INSERT INTO DataCollectionFileAttachment (dataCollectionId, fileFullPath, fileType) VALUES (51, '/x/a.log', 'log')").await;
    exec(&app, "INSERT INTO RobotAction (robotActionId, blsessionId, blsampleId, actionType, startTimestamp, endTimestamp, status)
        VALUES (60, 1, 1, 'LOAD', '2020-06-17 09:00:00', '2020-06-17 09:01:30', 'SUCCESS')").await;
    exec(
        &app,
        "INSERT INTO XFEFluorescenceSpectrum (xfeFluorescenceSpectrumId, sessionId, startTime, endTime)
        VALUES (70, 1, '2020-06-18 09:00:00', '2020-06-18 09:00:30')",
    )
    .await;
    exec(
        &app,
        "INSERT INTO EnergyScan (energyScanId, sessionId, startTime, endTime, element)
        VALUES (80, 1, '2020-06-19 09:00:00', '2020-06-19 09:02:00', 'Se')",
    )
    .await;
    let token = app.login("abcd").await;
    let list = |q: String| {
        let app = &app;
        let token = token.clone();
        async move {
            let r = app.get(&format!("/events?{q}"), Some(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            r.json
        }
    };
    let all = list("sessionId=1".into()).await;
    let kinds: Vec<(String, u64)> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_string(), e["id"].as_u64().unwrap()))
        .collect();
    let expect = [("es", 80), ("xrf", 70), ("dc", 52), ("robot", 60), ("dc", 1)];
    assert_eq!(kinds, expect.map(|(k, i)| (k.to_string(), i)), "latest first");
    assert_eq!(all["total"], 5);
    let group = &all["results"][2];
    assert_eq!((group["count"].clone(), group["attachments"].clone()), (json!(2), json!(1)));
    assert!(approx(&group["duration"], 3.0), "{}", group["duration"]);
    assert_eq!(group["blSampleId"], 1);
    assert_eq!(group["blSample"], "sample1");
    assert_eq!(group["session"], "blc00001-1");
    assert_eq!(group["Item"]["DataCollectionGroup"]["experimentType"], "OSC");
    assert_eq!(all["results"][3]["Item"]["actionType"], "LOAD");
    assert!(approx(&all["results"][3]["duration"], 1.5));
    assert_eq!(all["results"][0]["Item"]["element"], "Se");
    assert_eq!(all["results"][1]["Item"]["xfeFluorescenceSpectrumId"], 70);

    // Paging.
    let page = list("sessionId=1&skip=1&limit=2".into()).await;
    assert_eq!((page["total"].clone(), page["skip"].clone(), page["limit"].clone()), (json!(5), json!(1), json!(2)));
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert_eq!(page["results"][0]["id"], 70);

    let ids = |v: &Value| -> Vec<(String, u64)> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["type"].as_str().unwrap().to_string(), e["id"].as_u64().unwrap()))
            .collect()
    };
    let case = |q: &str, want: &[(&str, u64)]| {
        (q.to_string(), want.iter().map(|(k, i)| (k.to_string(), *i)).collect::<Vec<_>>())
    };
    for (q, want) in [
        case("sessionId=1&dataCollectionGroupId=50", &[("dc", 52), ("dc", 51)]),
        case("sessionId=1&dataCollectionId=51", &[("dc", 51)]),
        case("blSubSampleId=1", &[("dc", 52), ("dc", 1)]),
        case("sessionId=1&blSampleId=1", &[("dc", 52), ("robot", 60)]),
        case("sessionId=1&eventType=robot", &[("robot", 60)]),
        case("sessionId=1&eventType=xrf", &[("xrf", 70)]),
        case("sessionId=1&eventType=es", &[("es", 80)]),
        case("sessionId=1&eventType=OSC", &[("dc", 52)]),
        case("sessionId=1&status=success", &[("dc", 1), ("dc", 51), ("robot", 60)]),
        case("sessionId=1&dataCollectionGroupId=50&status=failed", &[("dc", 52)]),
        case("sessionId=1&status=processed", &[]),
        case("sessionId=1&status=processerror", &[]),
        case("session=blc00001-1&eventType=es", &[("es", 80)]),
        case("proposal=blc00001&eventType=es", &[("es", 80)]),
        case("proposalId=1&eventType=es", &[("es", 80)]),
        case("beamLineName=bl&eventType=es", &[("es", 80)]),
        case("beamLineName=BL99", &[]),
        // Unknown names match nothing (py-ISPyB dropped the filter).
        case("session=blc00001-99", &[]),
        case("proposal=xx999", &[]),
    ] {
        let got = list(q.clone()).await;
        let mut got_ids = ids(&got);
        if q.starts_with("sessionId=1&status=success") {
            got_ids.sort();
        }
        assert_eq!(got_ids, want, "{q}");
        assert_eq!(got["total"].as_u64().unwrap() as usize, want.len(), "{q}");
    }
    let r = app.get("/events?proteinId=1", Some(&token)).await;
    assert!(ids(&r.json).contains(&("robot".to_string(), 60)), "{}", r.text);

    // Types of the session.
    let r = app.get("/events/types?sessionId=1", Some(&token)).await;
    assert_eq!(
        r.json,
        json!({"total": 4, "skip": 0, "limit": 4, "results": [
            {"eventTypeName": "OSC", "eventType": "OSC"},
            {"eventTypeName": "Sample Actions", "eventType": "robot"},
            {"eventTypeName": "XRF Spectrum", "eventType": "xrf"},
            {"eventTypeName": "Energy Scan", "eventType": "es"}]})
    );
    let r = app.get("/events/types?sessionId=1&blSampleId=1", Some(&token)).await;
    assert_eq!(r.json["total"], 2, "{}", r.text);

    // Validation.
    for (q, field) in [
        ("session=x", "session"),
        ("proposal=MX", "proposal"),
        ("status=maybe", "status"),
        ("sessionId=a", "sessionId"),
    ] {
        let r = app.get(&format!("/events?{q}"), Some(&token)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.text);
        assert_eq!(r.json["detail"][0]["loc"][0], "query", "{q}");
        let _ = field;
    }

    // Another proposal's caller sees none of it.
    let other = app.login("pasteur").await;
    let r = app.get("/events?sessionId=1", Some(&other)).await;
    assert_eq!((r.status, r.json["total"].clone()), (StatusCode::OK, json!(0)));
    let r = app.get("/events/types?sessionId=1", Some(&other)).await;
    assert_eq!(r.json["total"], 0);
    app.finish().await;
}

#[tokio::test]
async fn snapshots_exist_only_inside_the_data_roots() {
    let root = DataRoot::new("events");
    let outside = DataRoot::new("outside");
    let app = app_with_root(&root).await;
    let one = root.file("bl/snap1.png", b"png1");
    let three = outside.file("snap3.png", b"png3");
    let link = root.0.join("bl/link.png");
    std::os::unix::fs::symlink(outside.0.join("snap3.png"), &link).unwrap();
    let plot = root.file("bl/plot.png", b"plot");
    exec(
        &app,
        &format!(
            "UPDATE DataCollection SET xtalSnapshotFullPath1 = '{one}', xtalSnapshotFullPath2 = '{}/bl/missing.png',
             xtalSnapshotFullPath3 = '{three}', xtalSnapshotFullPath4 = '{}', imageQualityIndicatorsPlotPath = '{plot}'
             WHERE dataCollectionId = 1",
            root.path(),
            link.display()
        ),
    )
    .await;
    let token = app.login("abcd").await;
    let r = app.get("/events?sessionId=1", Some(&token)).await;
    assert_eq!(
        r.json["results"][0]["Item"]["_metadata"]["snapshots"],
        json!({"1": true, "2": false, "3": false, "4": false, "analysis": true})
    );
    app.finish().await;
}
