//! Java ISPyB's routes: login, the token in the path (accepted, masked in logs, refused when
//! expired, revoked or malformed), Java's keys and conventions on `/ispyb/ispyb-ws/rest`,
//! py-ISPyB's recorded answers on `/legacy`, and the holes Java had (substring proposal
//! checks, objects of other proposals) closed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, assert_superset, config, py_ispyb_response};

const JAVA: &str = "/ispyb/ispyb-ws/rest";
const PY: &str = "/ispyb/api/v1/legacy";

impl TestApp {
    /// POSTs a form.
    async fn post_form(&self, uri: &str, form: &str) -> Reply {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// Logs in at Java's `/authenticate`; returns the token and the roles.
    async fn java_login(&self, login: &str) -> (String, Value) {
        let r =
            self.post_form(&format!("{JAVA}/authenticate?site=ESRF"), &format!("login={login}&password=secret")).await;
        assert_eq!(r.status, StatusCode::OK, "{login}: {}", r.text);
        (r.json["token"].as_str().unwrap().to_string(), r.json["roles"].clone())
    }

    /// GET of an absolute path without a bearer token.
    async fn raw(&self, uri: &str) -> Reply {
        self.request(Method::GET, uri, None, None).await
    }
}

/// Numbers compared as numbers (py-ISPyB wrote sums as floats, `16.0`; Java and we, `16`).
fn numbers_as_floats(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_floats).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), numbers_as_floats(v))).collect()),
        other => other.clone(),
    }
}

/// A token of ours signed with the test secret and arbitrary claims.
fn signed(claims: Value) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    encode(&Header::default(), &claims, &EncodingKey::from_secret(b"test-secret-key-0123456789")).unwrap()
}

#[tokio::test]
async fn a_java_client_logs_in_and_walks_proposal_sessions_and_collections() {
    let app = TestApp::ispyb().await;
    let r = app.post_form(&format!("{JAVA}/authenticate?site=ESRF"), "login=pasteur&password=secret").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(r.json["roles"], json!(["User"]));
    let token = r.json["token"].as_str().unwrap().to_string();

    let r = app.raw(&format!("{JAVA}/{token}/proposal/list")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json, py_ispyb_response("legacy_proposals_pasteurown"));

    // Sessions of MX1, Java's way: newest first, Java's dates, null keys left out.
    let r = app.raw(&format!("{JAVA}/{token}/proposal/mx1/session/list")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = r.json.as_array().unwrap();
    let ids: Vec<u64> = rows.iter().map(|s| s["sessionId"].as_u64().unwrap()).collect();
    assert_eq!(ids, [70568, 70567, 70566, 70565]);
    let s70565 = &rows[3];
    assert_eq!(s70565["BLSession_startDate"], "Nov 22, 2016 9:30:00 AM");
    assert_eq!(s70565["BLSession_endDate"], "Nov 23, 2016 5:00:00 PM");
    assert_eq!(s70565["Proposal_ProposalNumber"], "1");
    assert_eq!(s70565["Person_familyName"], "PASTEUR");
    assert_eq!(s70565["energyScanCount"], 0);
    assert!(s70565.get("visit_number").is_none() && s70565.get("comments").is_none(), "nulls are dropped: {s70565}");
    // The same with nulls kept on the other session routes.
    let r = app.raw(&format!("{JAVA}/{token}/proposal/MX1/session/sessionId/70565/list")).await;
    assert_eq!(r.json.as_array().unwrap().len(), 1);
    assert_eq!(r.json[0]["visit_number"], Value::Null);
    assert_eq!(r.json[0]["sessionId"], 70565);
    let r = app.raw(&format!("{JAVA}/{token}/proposal/9096/session/date/20161101/20161122/list")).await;
    let ids: Vec<u64> = r.json.as_array().unwrap().iter().map(|s| s["sessionId"].as_u64().unwrap()).collect();
    assert_eq!(ids, [70565], "the end day is included: {}", r.text);
    let r = app.raw(&format!("{JAVA}/{token}/session/list")).await;
    assert_eq!(r.json.as_array().unwrap().len(), 4);

    // The proposal bundle, with Java's value-object names.
    let r = app.raw(&format!("{JAVA}/{token}/proposal/MX1/info/get")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let info = &r.json[0];
    assert_eq!(info["proposal"][0]["code"], "MX");
    assert_eq!(info["proposal"][0]["number"], "1");
    assert_eq!(info["proposal"][0]["proposalId"], 9096);
    assert_eq!(info["proteins"].as_array().unwrap().len(), 39);
    assert!(info["proteins"][0]["acronym"].is_string());
    assert_eq!(info["labcontacts"][0]["cardName"], "PASTEUR");
    assert_eq!(info["labcontacts"][0]["personVO"]["familyName"], "PASTEUR");
    assert!(info["labcontacts"][0]["personVO"].get("login").is_none(), "no credentials");
    assert!(info["crystals"].as_array().unwrap().iter().all(|c| c["proteinVO"]["proteinId"].is_number()));
    for empty in ["plateTypes", "macromolecules", "buffers", "stockSolutions", "ligands"] {
        assert_eq!(info[empty], json!([]), "{empty}");
    }

    // The proposal of a session (EXI's EM header).
    let r = app.raw(&format!("{JAVA}/{token}/proposal/session/70566/list")).await;
    assert_eq!(r.json, py_ispyb_response("legacy_proposals_pasteurown"));
    let r = app.raw(&format!("{JAVA}/{token}/proposal/session/1/list")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "blc00001's session: {}", r.text);
    app.finish().await;
}

#[tokio::test]
async fn py_ispyb_mount_matches_its_recorded_answers() {
    let app = TestApp::ispyb().await;
    app.grant("pasteur", "own_proposals").await;
    app.grant("efgh", "all_proposals").await;
    let pasteur = app.login("pasteur").await;
    let efgh = app.login("efgh").await;
    let r = app.get("/legacy/proposals", Some(&pasteur)).await;
    assert_eq!(r.json, py_ispyb_response("legacy_proposals_pasteurown"));
    let r = app.get("/legacy/proposals", Some(&efgh)).await;
    assert_eq!(r.json, py_ispyb_response("legacy_proposals_efghall"));
    for (path, name) in [("MX1", "legacy_proposal_MX1_pasteurown"), ("9096", "legacy_proposal_9096_pasteurown")] {
        let r = app.get(&format!("/legacy/proposals/{path}"), Some(&pasteur)).await;
        let mut expected = py_ispyb_response(name);
        // Binary columns are never served (docs/compatibility.md).
        expected["proposal"].as_object_mut().unwrap().remove("externalId");
        assert_superset(&expected, &r.json, name);
    }
    let r = app.get("/legacy/sessions/proposal/MX1", Some(&pasteur)).await;
    let expected = numbers_as_floats(&py_ispyb_response("legacy_sessions_proposal_MX1_pasteurown"));
    assert_superset(&expected, &numbers_as_floats(&r.json), "sessions of MX1");
    let r = app.get("/legacy/sessions", Some(&efgh)).await;
    assert_superset(
        &numbers_as_floats(&py_ispyb_response("legacy_sessions_efghall")),
        &numbers_as_floats(&r.json),
        "all",
    );

    // Our bearer token in the path, as py-ISPyB took its JWT there.
    let r = app.raw(&format!("{PY}/{pasteur}/proposal/list")).await;
    assert_eq!(r.json, py_ispyb_response("legacy_path_proposal_list_pasteurown"));
    let r = app.raw(&format!("{PY}/{pasteur}/proposal/MX1/info/get")).await;
    let mut expected = py_ispyb_response("legacy_path_proposal_info_pasteurown");
    expected["proposal"].as_object_mut().unwrap().remove("externalId");
    assert_superset(&expected, &r.json, "info");
    // And a legacy token works there too, with py-ISPyB's ISO dates and nulls.
    let (token, _) = app.java_login("pasteur").await;
    let r = app.raw(&format!("{PY}/{token}/proposal/MX1/session/list")).await;
    assert_eq!(r.json[0]["BLSession_startDate"], "2016-11-22T09:30:00");
    assert_eq!(r.json[0]["visit_number"], Value::Null);
    // Deliberate differences: py-ISPyB refused callers without `own_*` permissions (403) and
    // answered 500 to anyone on two sessions (darwin); here darwin gets his two sessions.
    assert_eq!(py_ispyb_response("legacy_sessions_darwin"), json!({"detail": "Not Authorized"}));
    let darwin = app.login("darwin").await;
    let r = app.get("/legacy/sessions", Some(&darwin)).await;
    let ids: Vec<u64> = r.json.as_array().unwrap().iter().map(|s| s["sessionId"].as_u64().unwrap()).collect();
    assert_eq!(ids, [70565, 70567], "{}", r.text);
    // py-ISPyB answered 500 here (a typo); these are the session's groups.
    let abcd = app.login("abcd").await;
    let r = app.get("/legacy/data_collections/groups/session/1", Some(&abcd)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json[0]["DataCollectionGroup_dataCollectionGroupId"], 1);
    assert_eq!(r.json[0]["DataCollection_startTime"], "2020-06-16T15:52:28");
    let r = app.raw(&format!("{PY}/{abcd}/proposal/session/1/list")).await;
    assert_eq!(r.json[0]["DataCollection_dataCollectionId"], 1, "{}", r.text);
    app.finish().await;
}

#[tokio::test]
async fn roles_name_managers_and_local_contacts() {
    let app = TestApp::ispyb().await;
    sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('beamLineGroups', ?)")
        .bind(r#"[{"groupName":"BL01 staff","uiGroup":"mx","permission":"bl_admin","beamLines":[{"beamLineName":"BL01"}]}]"#)
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    app.grant("efgh", "bl_admin").await;
    app.grant("newton", "all_proposals").await;
    assert_eq!(app.java_login("efgh").await.1, json!(["Localcontact", "User"]));
    assert_eq!(app.java_login("newton").await.1, json!(["Manager", "User"]));
    // A local contact sees the sessions of their beamline, in the managers' calendar too.
    let (token, _) = app.java_login("efgh").await;
    let r = app.raw(&format!("{JAVA}/{token}/proposal/session/date/20160101/20171231/list")).await;
    let ids: Vec<u64> = r.json.as_array().unwrap().iter().map(|s| s["sessionId"].as_u64().unwrap()).collect();
    assert_eq!(ids, [70568, 70566, 70565]);
    let r = app.raw(&format!("{JAVA}/{token}/proposal/session/beamlineoperator/darwin/list")).await;
    let ids: Vec<u64> = r.json.as_array().unwrap().iter().map(|s| s["sessionId"].as_u64().unwrap()).collect();
    assert_eq!(ids, [70565]);
    app.finish().await;
}

#[tokio::test]
async fn bad_logins_are_401_with_cors() {
    let app = TestApp::ispyb().await;
    for form in ["login=pasteur&password=", "login=&password=x", "", "login=nobody-here&password=x"] {
        let r = app.post_form(&format!("{JAVA}/authenticate?site=ESRF"), form).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{form}: {}", r.text);
        assert!(r.json["detail"].is_string(), "{form}");
    }
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("{JAVA}/authenticate"))
        .header(header::ORIGIN, "https://exi.example.org")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("login=&password="))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    // The preflight of a browser client.
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("{JAVA}/x/proposal/list"))
        .header(header::ORIGIN, "https://exi.example.org")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert!(r.status.is_success(), "{}", r.status);
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    app.finish().await;
}

#[tokio::test]
async fn expired_revoked_and_malformed_tokens_are_refused() {
    let app = TestApp::ispyb().await;
    let (token, _) = app.java_login("pasteur").await;
    let ok = app.raw(&format!("{JAVA}/{token}/proposal/list")).await;
    assert_eq!(ok.status, StatusCode::OK);

    let now = chrono::Utc::now().timestamp();
    let expired =
        signed(json!({"sub": "pasteur", "personId": 404290, "typ": "legacy", "jti": "abc", "iat": 1, "exp": 2}));
    let wrong_person =
        signed(json!({"sub": "curie", "personId": 404290, "typ": "legacy", "jti": "abd", "iat": now, "exp": now + 60}));
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "pasteur", "personId": 404290, "typ": "legacy", "jti": "abe", "iat": now, "exp": now + 60}),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-0123456789"),
    )
    .unwrap();
    for (bad, detail) in [
        (expired.as_str(), "Token expired. Please log in again"),
        ("not-a-token", "Invalid token"),
        ("0123456789abcdef0123456789abcdef01234567", "Invalid token"),
        (wrong_person.as_str(), "Invalid token"),
        (forged.as_str(), "Invalid token"),
    ] {
        for prefix in [JAVA, PY] {
            let r = app.raw(&format!("{prefix}/{bad}/proposal/list")).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{prefix} {bad}: {}", r.text);
            assert_eq!(r.json["detail"], detail, "{prefix} {bad}");
        }
    }

    // Logout revokes the token on every route and mount; another token of the same person lives.
    let (other, _) = app.java_login("pasteur").await;
    let r = app.request(Method::POST, &format!("{JAVA}/{token}/logout"), None, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    for uri in [format!("{JAVA}/{token}/proposal/list"), format!("{PY}/{token}/proposal/MX1/info/get")] {
        let r = app.raw(&uri).await;
        assert_eq!(
            (r.status, r.json["detail"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("Token revoked. Please log in again"))
        );
    }
    assert_eq!(app.raw(&format!("{JAVA}/{other}/proposal/list")).await.status, StatusCode::OK);
    // A bearer token cannot be revoked there; a legacy token is no bearer token.
    let bearer = app.login("pasteur").await;
    let r = app.request(Method::POST, &format!("{JAVA}/{bearer}/logout"), None, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/proposals", Some(&other)).await.status, StatusCode::UNAUTHORIZED);

    // A person removed from the database loses their legacy tokens at once.
    sqlx::query("UPDATE Person SET login = 'pasteur-gone' WHERE personId = 404290")
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    assert_eq!(app.raw(&format!("{JAVA}/{other}/proposal/list")).await.status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn tokens_expire_after_the_configured_lifetime() {
    let app = TestApp::with(ispyb_db::testing::TestDb::ispyb().await, config(&[("legacy_token_exp_time", "1")])).await;
    let (token, _) = app.java_login("pasteur").await;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64_url(payload)).unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    assert_eq!(claims["typ"], "legacy");
    app.finish().await;
}

/// Decodes unpadded base64url (the parts of a JWT).
fn base64_url(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn proposal_checks_are_exact() {
    let app = TestApp::ispyb().await;
    let db = app.test_db.db.pool();
    // pasteur owns MX415; MX41 belongs to someone else. Java let MX41 through for pasteur
    // because "MX41" is a substring of "[mx415]".
    for (number, owner) in [("415", 404290), ("41", 404291)] {
        sqlx::query("INSERT INTO Proposal (proposalCode, proposalNumber, personId, title) VALUES ('MX', ?, ?, 't')")
            .bind(number)
            .bind(owner)
            .execute(db)
            .await
            .unwrap();
    }
    let mx415: u32 =
        sqlx::query_scalar("SELECT proposalId FROM Proposal WHERE proposalNumber = '415'").fetch_one(db).await.unwrap();
    let (token, _) = app.java_login("pasteur").await;
    for ok in ["MX415", "mx415", "Mx415", &mx415.to_string()] {
        let r = app.raw(&format!("{JAVA}/{token}/proposal/{ok}/session/list")).await;
        assert_eq!(r.status, StatusCode::OK, "{ok}: {}", r.text);
    }
    for refused in ["MX41", "mx41", "MX4", "X415", "MX4150", "9096abc", "%", "MX%", "1", "blc00001", "nothing"] {
        let r = app.raw(&format!("{JAVA}/{token}/proposal/{refused}/session/list")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{refused}: {}", r.text);
        assert_eq!(r.json, json!({"detail": "Not Authorized"}), "{refused}");
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
    // A proposal account (a login equal to the proposal's name) sees its proposal only.
    sqlx::query("INSERT INTO Person (login, familyName) VALUES ('mx41', 'account')").execute(db).await.unwrap();
    let (account, _) = app.java_login("mx41").await;
    let r = app.raw(&format!("{JAVA}/{account}/proposal/list")).await;
    let names: Vec<&str> =
        r.json.as_array().unwrap().iter().map(|p| p["Proposal_proposalNumber"].as_str().unwrap()).collect();
    assert_eq!(names, ["41"]);
    assert_eq!(app.raw(&format!("{JAVA}/{account}/proposal/MX415/info/get")).await.status, StatusCode::FORBIDDEN);
    // Managers get 404 for a proposal that does not exist.
    app.grant("newton", "all_proposals").await;
    let (manager, _) = app.java_login("newton").await;
    assert_eq!(app.raw(&format!("{JAVA}/{manager}/proposal/MX41/info/get")).await.status, StatusCode::OK);
    assert_eq!(app.raw(&format!("{JAVA}/{manager}/proposal/ZZ9/info/get")).await.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

/// Auto-processing, an image, an energy scan and an XRF spectrum for data collection 1
/// (proposal blc00001, session 1), and a file for its first crystal snapshot.
async fn mx_results(app: &TestApp, snapshot: &str) {
    let db = app.test_db.db.pool();
    for sql in [
        "INSERT INTO AutoProcIntegration (autoProcIntegrationId, dataCollectionId, autoProcProgramId, cell_a, cell_b, anomalous) VALUES (11, 1, 1, 78.4, 79, 0)",
        "INSERT INTO AutoProc (autoProcId, autoProcProgramId, spaceGroup) VALUES (21, 1, 'P 21 21 21')",
        "INSERT INTO AutoProcScaling (autoProcScalingId, autoProcId) VALUES (31, 21)",
        "INSERT INTO AutoProcScaling_has_Int (autoProcScalingId, autoProcIntegrationId) VALUES (31, 11)",
        "INSERT INTO AutoProcScalingStatistics (autoProcScalingId, scalingStatisticsType, resolutionLimitHigh, completeness) VALUES (31, 'overall', 1.5, 99.5), (31, 'innerShell', 20, 98)",
        "INSERT INTO Image (imageId, dataCollectionId, imageNumber, jpegFileFullPath, synchrotronCurrent) VALUES (41, 1, 1, '/nowhere/1.jpeg', 200), (42, 1, 2, NULL, 199)",
        "INSERT INTO EnergyScan (energyScanId, sessionId, element, startTime, jpegChoochFileFullPath) VALUES (51, 1, 'Se', '2020-06-16 15:00:00', '/nowhere/chooch.jpg')",
        "INSERT INTO XFEFluorescenceSpectrum (xfeFluorescenceSpectrumId, sessionId, energy, jpegScanFileFullPath) VALUES (61, 1, 12.7, '/nowhere/xrf.png')",
    ] {
        sqlx::query(sql).execute(db).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    sqlx::query("UPDATE DataCollection SET xtalSnapshotFullPath1 = ? WHERE dataCollectionId = 1")
        .bind(snapshot)
        .execute(db)
        .await
        .unwrap();
}

fn temp_root(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ispyb-legacy-{tag}-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn mx_lists_have_java_keys() {
    let root = temp_root("mx");
    let snapshot = root.join("snap1.png");
    std::fs::write(&snapshot, b"\x89PNG snapshot").unwrap();
    let app =
        TestApp::with(ispyb_db::testing::TestDb::ispyb().await, config(&[("data_roots", root.to_str().unwrap())]))
            .await;
    mx_results(&app, snapshot.to_str().unwrap()).await;
    // abcd owns blc00001 and is on its session 1.
    let (token, _) = app.java_login("abcd").await;
    let p = format!("{JAVA}/{token}/proposal/blc00001");

    let r = app.raw(&format!("{p}/mx/datacollection/session/1/list")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = r.json.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let g = &rows[0];
    assert_eq!(g["DataCollectionGroup_dataCollectionGroupId"], 1);
    assert_eq!(g["DataCollection_dataCollectionId"], 1);
    assert_eq!(g["BLSession_proposalId"], 1);
    assert_eq!(g["DataCollection_numberOfImages"], 16);
    assert_eq!(g["DataCollection_startTime"], "Jun 16, 2020 3:52:28 PM");
    assert_eq!(g["DataCollection_imageDirectory"], "/data/bl/tmp/blc00001/sample1/sample1_roi1_1");
    assert_eq!(g["DataCollection_wavelength"], 1.23984);
    assert_eq!(g["totalNumberOfDataCollections"], 1);
    assert_eq!(g["totalNumberOfImages"], 16);
    assert_eq!(g["dataCollectionIdList"], "1");
    assert_eq!(g["startTimeList"], "2020-06-16 15:52:28");
    assert_eq!(g["imagesCount"], "16");
    assert_eq!(g["firstImageId"], 41);
    assert_eq!(g["lastImageId"], 42);
    assert_eq!(g["synchrotronCurrent"], "200,199");
    assert_eq!(g["AutoProcIntegration_autoProcIntegrationId"], 11);
    assert_eq!(g["cell_a"], 78.4);
    assert_eq!(g["Autoprocessing_cell_a"], "78.4, 78.4");
    assert_eq!(g["scalingStatisticsTypes"], "overall, innerShell");
    assert_eq!(g["AutoProc_spaceGroup"], "P 21 21 21");
    assert_eq!(g["hasPhasing"], 0);
    assert!(g.as_object().unwrap().values().all(|v| !v.is_null()), "Java drops null keys here: {g}");

    let r = app.raw(&format!("{p}/mx/datacollection/1/list")).await;
    assert_eq!(r.json[0]["DataCollection_dataCollectionId"], 1, "{}", r.text);
    let r = app.raw(&format!("{p}/mx/datacollection/datacollectiongroupid/1/list")).await;
    let dc = &r.json[0];
    assert_eq!((dc["dataCollectionId"].clone(), dc["sessionId"].clone()), (json!(1), json!(1)), "{}", r.text);
    assert_eq!(dc["hasAutoProcessing"], 1);
    assert_eq!(dc["meanIOverSigIList"], "null, null");
    assert_eq!(dc["fileTemplate"], "sample1_roi1_1.h5");

    let r = app.raw(&format!("{p}/mx/autoprocintegration/datacollection/1,999/view")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json.as_array().unwrap().len(), 2, "one list per id");
    assert_eq!(r.json[1], json!([]));
    let v = &r.json[0][0];
    assert_eq!(v["v_datacollection_summary_phasing_autoProcIntegrationId"], 11);
    assert_eq!(v["v_datacollection_summary_phasing_cell_a"], 78.4);
    assert_eq!(v["scalingStatisticsType"], "overall,innerShell");
    assert_eq!(v["completeness"], "99.5,98");
    assert_eq!(v["BLSample_name"], Value::Null);
    let r = app.raw(&format!("{p}/mx/autoprocintegration/attachment/autoprocprogramid/1/list")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json.as_array().unwrap().len(), 1);

    let r = app.raw(&format!("{p}/mx/energyscan/session/1/list")).await;
    assert_eq!(r.json[0]["energyScanId"], 51, "{}", r.text);
    assert_eq!(r.json[0]["element"], "Se");
    assert_eq!(r.json[0]["startTime"], "Jun 16, 2020 3:00:00 PM");
    assert_eq!(r.json[0]["BLSession_proposalId"], 1);
    let r = app.raw(&format!("{p}/mx/xrfscan/session/1/list")).await;
    assert_eq!(r.json[0]["xfeFluorescenceSpectrumId"], 61, "{}", r.text);
    assert_eq!(r.json[0]["energy"], 12.7);

    // Files: served from the data roots, with Java's attachment name.
    let r = app.raw(&format!("{p}/mx/datacollection/1/crystalsnaphot/1/get")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text, "\u{fffd}PNG snapshot");
    assert_eq!(r.headers[header::CONTENT_DISPOSITION], "attachment; filename=\"snap1.png\"");
    for missing in [
        "mx/datacollection/1/crystalsnaphot/2/get",
        "mx/image/41/get",
        "mx/image/42/thumbnail",
        "mx/datacollection/1/qualityindicatorplot",
        "mx/energyscan/energyscanId/51/jpegchooch",
        "mx/xrfscan/xrfscanId/61/image/jpegScanFileFullPath/get",
    ] {
        let r = app.raw(&format!("{p}/{missing}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing}: {}", r.text);
    }
    let r = app.raw(&format!("{p}/mx/xrfscan/xrfscanId/61/image/workingDirectory/get")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "only file columns");
    assert_eq!(
        app.raw(&format!("{p}/mx/datacollection/1/crystalsnaphot/5/get")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    app.finish().await;
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn objects_of_other_proposals_are_not_found() {
    let root = temp_root("other");
    let snapshot = root.join("snap1.png");
    std::fs::write(&snapshot, b"png").unwrap();
    let app =
        TestApp::with(ispyb_db::testing::TestDb::ispyb().await, config(&[("data_roots", root.to_str().unwrap())]))
            .await;
    mx_results(&app, snapshot.to_str().unwrap()).await;
    // pasteur may see MX1, not blc00001 (which owns collection 1, image 41, scans 51 and 61).
    let (token, _) = app.java_login("pasteur").await;
    let mx1 = format!("{JAVA}/{token}/proposal/MX1");
    for list in [
        "mx/datacollection/session/1/list",
        "mx/datacollection/1/list",
        "mx/datacollection/datacollectiongroupid/1/list",
        "mx/energyscan/session/1/list",
        "mx/xrfscan/session/1/list",
    ] {
        let r = app.raw(&format!("{mx1}/{list}")).await;
        assert_eq!((r.status, r.json.clone()), (StatusCode::OK, json!([])), "{list}");
    }
    let r = app.raw(&format!("{mx1}/mx/autoprocintegration/datacollection/1/view")).await;
    assert_eq!(r.json, json!([[]]));
    for file in [
        "mx/datacollection/1/crystalsnaphot/1/get",
        "mx/image/41/get",
        "mx/datacollectiongroup/1/xtal/thumbnail",
        "mx/energyscan/energyscanId/51/jpegchooch",
        "mx/xrfscan/xrfscanId/61/image/jpegScanFileFullPath/get",
        "mx/autoprocintegration/autoprocattachmentid/1/download",
    ] {
        let r = app.raw(&format!("{mx1}/{file}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{file}: {}", r.text);
    }
    let r = app.post_form(&format!("{mx1}/mx/datacollection/1/comments/save"), "comments=mine").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Through blc00001 itself: not authorized.
    let r = app.raw(&format!("{JAVA}/{token}/proposal/blc00001/mx/datacollection/1/crystalsnaphot/1/get")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The session member sees the file.
    let (abcd, _) = app.java_login("abcd").await;
    let r = app.raw(&format!("{JAVA}/{abcd}/proposal/blc00001/mx/datacollection/1/crystalsnaphot/1/get")).await;
    assert_eq!(r.status, StatusCode::OK);
    app.finish().await;
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn comments_are_saved_on_visible_objects() {
    let app = TestApp::ispyb().await;
    let (token, _) = app.java_login("abcd").await;
    let p = format!("{JAVA}/{token}/proposal/blc00001");
    for (path, sql) in [
        ("mx/datacollection/1/comments/save", "SELECT comments FROM DataCollection WHERE dataCollectionId = 1"),
        (
            "mx/datacollectiongroup/1/comments/save",
            "SELECT comments FROM DataCollectionGroup WHERE dataCollectionGroupId = 1",
        ),
        ("mx/session/1/comments/save", "SELECT comments FROM BLSession WHERE sessionId = 1"),
    ] {
        let r = app.post_form(&format!("{p}/{path}"), "comments=Nice+crystal+%C3%A9").await;
        assert_eq!((r.status, r.json.clone()), (StatusCode::OK, json!(true)), "{path}: {}", r.text);
        let saved: Option<String> = sqlx::query_scalar(sql).fetch_one(app.test_db.db.pool()).await.unwrap();
        assert_eq!(saved.as_deref(), Some("Nice crystal é"), "{path}");
        let r = app.post_form(&format!("{p}/{path}"), &format!("comments={}", "x".repeat(3000))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let r = app.post_form(&format!("{p}/{path}"), "other=1").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    app.finish().await;
}

/// Log lines written during a request, at debug level.
async fn logged(app: &TestApp, uri: &str) -> (StatusCode, String) {
    use std::sync::{Arc, Mutex};
    use tracing::instrument::WithSubscriber;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let status = app.raw(uri).with_subscriber(subscriber).await.status;
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (status, text)
}

#[tokio::test]
async fn tokens_in_paths_are_masked_in_logs() {
    let app = TestApp::ispyb().await;
    let (token, _) = app.java_login("pasteur").await;
    let bearer = app.login("pasteur").await;
    for (prefix, secret, rest) in [
        (JAVA, token.as_str(), "/proposal/MX1/session/list"),
        (PY, bearer.as_str(), "/proposal/list"),
        (JAVA, token.as_str(), "/proposal/nothing/info/get"),
        (JAVA, "not-a-real-token", "/proposal/list"),
    ] {
        let (status, logs) = logged(&app, &format!("{prefix}/{secret}{rest}")).await;
        assert!(logs.contains(&format!("{prefix}/***{rest}")), "{status}: no masked path in:\n{logs}");
        assert!(!logs.contains(secret), "the token leaked into the logs:\n{logs}");
    }
    app.finish().await;
}

#[tokio::test]
async fn legacy_routes_can_be_switched_off() {
    let app = TestApp::with(ispyb_db::testing::TestDb::ispyb().await, config(&[("legacy_routes", "false")])).await;
    let r = app.post_form(&format!("{JAVA}/authenticate"), "login=pasteur&password=x").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let bearer = app.login("pasteur").await;
    assert_eq!(app.get("/legacy/proposals", Some(&bearer)).await.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

#[tokio::test]
async fn phasing_logistics_and_zips() {
    let root = temp_root("phasing");
    std::fs::write(root.join("model.pdb"), b"ATOM 1").unwrap();
    std::fs::write(root.join("xds.log"), b"log text").unwrap();
    let app =
        TestApp::with(ispyb_db::testing::TestDb::ispyb().await, config(&[("data_roots", root.to_str().unwrap())]))
            .await;
    mx_results(&app, "/nowhere/snap.png").await;
    let dir = root.to_str().unwrap();
    for sql in [
        "INSERT INTO PhasingProgramRun (phasingProgramRunId, phasingPrograms) VALUES (71, 'SHELX')".to_string(),
        "INSERT INTO PhasingStep (phasingStepId, autoProcScalingId, programRunId, spaceGroupId, phasingStepType, method) VALUES (81, 31, 71, 19, 'MODELBUILDING', 'SAD')".into(),
        "INSERT INTO PhasingStatistics (phasingStepId, metric, statisticsValue) VALUES (81, 'CC', 0.5), (81, 'FOM', 0.25)".into(),
        format!("INSERT INTO PhasingProgramAttachment (phasingProgramAttachmentId, phasingProgramRunId, fileType, fileName, filePath) VALUES (91, 71, 'PDB', 'model.pdb', '{dir}'), (92, 71, 'Logfile', 'missing.log', '{dir}')"),
        format!("INSERT INTO AutoProcProgramAttachment (autoProcProgramId, fileType, fileName, filePath) VALUES (1, 'Log', 'xds.log', '{dir}')"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(app.test_db.db.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let (token, _) = app.java_login("abcd").await;
    let p = format!("{JAVA}/{token}/proposal/blc00001");

    // Phasing: an array per id; the group's step with its statistics and files.
    let r = app.raw(&format!("{p}/mx/phasing/datacollectiongroupid/1,2/list")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json[1], json!([]));
    let step = &r.json[0][0];
    assert_eq!(step["PhasingStep_phasingStepId"], 81);
    assert_eq!(step["PhasingStep_method"], "SAD");
    assert_eq!(step["SpaceGroup_spaceGroupShortName"], "P212121");
    assert_eq!(step["DataCollection_dataCollectionId"], 1);
    assert_eq!(step["AutoProcIntegration_autoProcIntegrationId"], 11);
    assert_eq!(step["PhasingProgramRun_phasingPrograms"], "SHELX");
    assert_eq!(step["BLSession_proposalId"], 1);
    assert_eq!(step["metric"], "CC, FOM");
    assert_eq!(step["statisticsValue"], "0.5, 0.25");
    assert_eq!(step["pdb"], "91");
    assert_eq!(step["pdbFileName"], "model.pdb");
    let r = app.raw(&format!("{p}/mx/phasing/phasingstepid/81/files")).await;
    assert_eq!(r.json[0].as_array().unwrap().len(), 2, "{}", r.text);
    assert_eq!(r.json[0][0]["fileName"], "model.pdb");
    // The group's DC-group row now says it has phasing.
    let r = app.raw(&format!("{p}/mx/datacollection/session/1/list")).await;
    assert_eq!(r.json[0]["hasPhasing"], 1);
    assert_eq!(r.json[0]["SpaceGroupModelResolvedByPhasing"], "P212121");

    // Downloads: one file, and zips of what exists.
    let r = app.raw(&format!("{p}/mx/phasing/phasingprogramattachmentid/91/download")).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ATOM 1"));
    for zip in [
        format!("{p}/mx/phasing/phasingstepid/81/download"),
        format!("{p}/mx/autoprocintegration/attachment/autoprocprogramid/1/download?forceFilename=xds.zip"),
    ] {
        let r = app.raw(&zip).await;
        assert_eq!(r.status, StatusCode::OK, "{zip}: {}", r.text);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/zip");
        assert!(r.text.starts_with("PK"), "{zip}");
    }
    let r = app
        .raw(&format!("{p}/mx/autoprocintegration/attachment/autoprocprogramid/1/download?forceFilename=xds.zip"))
        .await;
    assert_eq!(r.headers[header::CONTENT_DISPOSITION], "attachment; filename=\"xds.zip\"");
    let r =
        app.raw(&format!("{JAVA}/{token}/proposal/blc00001/mx/phasing/phasingprogramattachmentid/92/download")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a missing file");
    // Another proposal's caller sees none of it.
    let (other, _) = app.java_login("pasteur").await;
    let r = app.raw(&format!("{JAVA}/{other}/proposal/MX1/mx/phasing/phasingstepid/81/list")).await;
    assert_eq!(r.json, json!([[]]));
    let r = app.raw(&format!("{JAVA}/{other}/proposal/MX1/mx/phasing/phasingstepid/81/download")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Logistics.
    let r = app.raw(&format!("{p}/shipping/list")).await;
    let row = &r.json[0];
    assert_eq!(
        (&row["Shipping_shippingId"], &row["Dewar_dewarId"], &row["Container_containerId"], &row["sampleCount"]),
        (&json!(1), &json!(1), &json!(1), &json!(1)),
        "{}",
        r.text
    );
    assert_eq!(row["Shipping_shippingName"], "blc00001-1_Shipment1");
    assert_eq!(row["stockSolutionCount"], 0);
    let r = app.raw(&format!("{p}/dewar/list")).await;
    assert_eq!((r.json[0]["dewarId"].clone(), r.json[0]["dewarCode"].clone()), (json!(1), json!("blc00001-1_Dewar1")));
    assert_eq!(r.json[0]["containerCode"], "blc00001-1_Container1");
    let r = app.raw(&format!("{p}/mx/sample/containerid/1/list")).await;
    assert_eq!(r.json[0]["BLSample_name"], "sample1", "{}", r.text);
    assert_eq!(r.json[0]["Protein_acronym"], "comp1");
    assert_eq!(r.json[0]["Container_sampleChangerLocation"], "1");
    let r = app.raw(&format!("{JAVA}/{other}/proposal/MX1/shipping/labcontact/list")).await;
    assert_eq!(r.json[0]["cardName"], "PASTEUR", "{}", r.text);
    assert_eq!(app.raw(&format!("{JAVA}/{other}/proposal/blc00001/shipping/list")).await.status, StatusCode::FORBIDDEN);
    app.finish().await;
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn legacy_sql_runs_on_the_dls_flavour() {
    let app = TestApp::with(ispyb_db::testing::TestDb::real(ispyb_db::Flavour::Dls).await, config(&[])).await;
    // boaty is on cm14451 (37027), sessions 55167, 55168 and 339535.
    let (token, roles) = app.java_login("boaty").await;
    assert_eq!(roles, json!(["User"]));
    let p = format!("{JAVA}/{token}/proposal/cm14451");
    let r = app.raw(&format!("{JAVA}/{token}/proposal/list")).await;
    assert_eq!(r.json[0]["Proposal_proposalId"], 37027, "{}", r.text);
    let r = app.raw(&format!("{p}/session/list")).await;
    assert_eq!(r.json.as_array().map(Vec::len), Some(3), "{}", r.text);
    assert!(r.json[0].get("expSessionPk").is_none(), "a column the flavour lacks is null, so dropped here");
    let r = app.raw(&format!("{p}/mx/datacollection/session/55167,55168/list")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let groups = r.json.as_array().unwrap();
    assert!(!groups.is_empty());
    assert!(groups.iter().all(|g| g["BLSession_proposalId"] == 37027 && g.get("Workflow_workflowId").is_none()));
    let r = app.raw(&format!("{p}/mx/datacollection/993677,1002287/list")).await;
    let ids: Vec<u64> =
        r.json.as_array().unwrap().iter().map(|g| g["DataCollection_dataCollectionId"].as_u64().unwrap()).collect();
    assert_eq!(ids, [993677, 1002287]);
    for list in [
        "info/get".to_string(),
        "session/sessionId/55167/list".into(),
        "session/date/20000101/20301231/list".into(),
        "mx/datacollection/datacollectiongroupid/988855,996311/list".into(),
        "mx/autoprocintegration/datacollection/993677,1002287,1052494/view".into(),
        "mx/autoprocintegration/attachment/autoprocprogramid/1,2/list".into(),
        "mx/energyscan/session/55167,55168,339535/list".into(),
        "mx/xrfscan/session/55167,55168,339535/list".into(),
        "mx/workflow/step/1/list".into(),
        "mx/phasing/datacollectiongroupid/988855/list".into(),
        "mx/phasing/phasingstepid/1/files".into(),
        "shipping/list".into(),
        "dewar/list".into(),
        "dewar/session/55167/list".into(),
        "mx/sample/list".into(),
        "mx/sample/sessionid/55167/list".into(),
        "shipping/labcontact/list".into(),
    ] {
        let r = app.raw(&format!("{p}/{list}")).await;
        assert_eq!(r.status, StatusCode::OK, "{list}: {}", r.text);
        assert!(r.json.is_array(), "{list}: {}", r.text);
    }
    for file in ["mx/datacollection/993677/crystalsnaphot/1/get", "mx/workflow/step/1/result", "mx/image/1/get"] {
        assert_eq!(app.raw(&format!("{p}/{file}")).await.status, StatusCode::NOT_FOUND, "{file}");
    }
    let r = app.post_form(&format!("{p}/mx/datacollection/993677/comments/save"), "comments=dls").await;
    assert_eq!(r.json, json!(true), "{}", r.text);
    app.finish().await;
}
