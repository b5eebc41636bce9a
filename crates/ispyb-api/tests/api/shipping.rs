//! Lab contacts, shipments, dewars, containers and persons: reads, atomic writes, partial
//! updates, and nothing of another proposal.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_superset, py_ispyb_response};

const ROOT: &str = "/ispyb/api/v1";

fn new_contact(proposal_id: u64, card: &str) -> Value {
    json!({
        "proposalId": proposal_id, "cardName": card, "courierAccount": "ACC-1",
        "Person": {"givenName": "Ada", "familyName": "Byron", "emailAddress": "ada@example.org",
                   "Laboratory": {"name": "Lab", "address": "1 Road", "city": "Grenoble", "country": "FR"}}
    })
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM `{table}`")))
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn lab_contacts_read_create_and_edit() {
    let app = TestApp::ispyb().await;
    let abcd = app.login("abcd").await;
    assert_superset(&py_ispyb_response("labcontacts_abcd"), &app.get("/labcontacts", Some(&abcd)).await.json, "abcd");

    let pasteur = app.login("pasteur").await;
    let r = app.get("/labcontacts", Some(&pasteur)).await;
    assert_eq!(r.json["total"], 1);
    let c = &r.json["results"][0];
    assert_eq!(
        (c["labContactId"].as_u64(), c["cardName"].as_str(), c["proposalId"].as_u64()),
        (Some(273118), Some("PASTEUR"), Some(9096))
    );
    assert_eq!(c["Person"]["familyName"], "PASTEUR");
    assert!(c["Person"].get("login").is_none(), "logins are not part of a contact");
    assert!(c["Person"].get("passwd").is_none());
    assert_eq!(app.get("/labcontacts/273118", Some(&abcd)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/labcontacts?proposal=MX1", Some(&pasteur)).await.json["total"], 1);
    assert_eq!(app.get("/labcontacts?proposal=blc00001", Some(&pasteur)).await.json["total"], 0);

    // Create on a visible proposal.
    let r = app.request(Method::POST, &format!("{ROOT}/labcontacts"), Some(&abcd), Some(new_contact(1, "Ada"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["labContactId"].as_u64().unwrap();
    assert_eq!(r.json["Person"]["givenName"], "Ada");
    assert_eq!(r.json["Person"]["Laboratory"]["city"], "Grenoble");
    assert_eq!(r.json["dewarAvgCustomsValue"], 0, "the column default");

    // A duplicate card name is a 422 on cardName, and leaves nothing behind.
    let (persons, labs) = (count(&app, "Person").await, count(&app, "Laboratory").await);
    let r = app.request(Method::POST, &format!("{ROOT}/labcontacts"), Some(&abcd), Some(new_contact(1, "Ada"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json["detail"][0]["loc"], json!(["body", "cardName"]));
    assert_eq!(
        (count(&app, "Person").await, count(&app, "Laboratory").await),
        (persons, labs),
        "the failed create was rolled back"
    );

    // Another proposal's: 404 before any write.
    let r =
        app.request(Method::POST, &format!("{ROOT}/labcontacts"), Some(&abcd), Some(new_contact(9096, "Eve"))).await;
    assert_eq!((r.status, r.json["detail"].as_str()), (StatusCode::NOT_FOUND, Some("No such proposal")));
    assert_eq!(count(&app, "Person").await, persons);

    // Bad bodies name their fields.
    let mut bad = new_contact(1, &"x".repeat(41));
    bad["Person"]["givenName"] = json!("");
    bad["Person"].as_object_mut().unwrap().remove("familyName");
    let r = app.request(Method::POST, &format!("{ROOT}/labcontacts"), Some(&abcd), Some(bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["detail"][0]["loc"], json!(["body", "Person", "familyName"]), "{}", r.text);
    let mut bad = new_contact(1, &"x".repeat(41));
    bad["Person"]["givenName"] = json!("");
    let r = app.request(Method::POST, &format!("{ROOT}/labcontacts"), Some(&abcd), Some(bad)).await;
    let locs: Vec<Value> = r.json["detail"].as_array().unwrap().iter().map(|e| e["loc"].clone()).collect();
    assert_eq!(locs, vec![json!(["body", "cardName"]), json!(["body", "Person", "givenName"])]);

    // Partial update, nested too; null clears optional fields, is refused for required ones.
    let r = app
        .request(
            Method::PATCH,
            &format!("{ROOT}/labcontacts/{id}"),
            Some(&abcd),
            Some(json!({"courierAccount": null, "Person": {"phoneNumber": "123", "Laboratory": {"city": "Lyon"}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["courierAccount"], Value::Null);
    assert_eq!(r.json["cardName"], "Ada");
    assert_eq!(r.json["Person"]["phoneNumber"], "123");
    assert_eq!(r.json["Person"]["givenName"], "Ada");
    assert_eq!(r.json["Person"]["Laboratory"]["city"], "Lyon");
    assert_eq!(r.json["Person"]["Laboratory"]["country"], "FR");
    let r = app
        .request(Method::PATCH, &format!("{ROOT}/labcontacts/{id}"), Some(&abcd), Some(json!({"cardName": null})))
        .await;
    assert_eq!(
        (r.status, r.json["detail"][0]["loc"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!(["body", "cardName"]))
    );
    let r = app
        .request(Method::PATCH, &format!("{ROOT}/labcontacts/273118"), Some(&abcd), Some(json!({"cardName": "x"})))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another proposal's contact cannot be edited");
    app.finish().await;
}

#[tokio::test]
async fn shipments_dewars_and_containers() {
    let app = TestApp::ispyb().await;
    let abcd = app.login("abcd").await;
    let pasteur = app.login("pasteur").await;
    let r = app.get("/shippings", Some(&abcd)).await;
    assert_eq!(r.json["total"], 1);
    assert_eq!(r.json["results"][0]["shippingName"], "blc00001-1_Shipment1");
    assert_eq!(r.json["results"][0]["_metadata"]["dewars"], 1);
    assert_eq!(app.get("/shippings", Some(&pasteur)).await.json["total"], 0);
    assert_eq!(app.get("/shippings/1", Some(&pasteur)).await.status, StatusCode::NOT_FOUND);

    let contact =
        app.request(Method::POST, &format!("{ROOT}/labcontacts"), Some(&abcd), Some(new_contact(1, "Ship"))).await.json
            ["labContactId"]
            .as_u64()
            .unwrap();
    let body =
        json!({"proposalId": 1, "shippingName": "S2", "sendingLabContactId": contact, "returnLabContactId": contact});
    let r = app.request(Method::POST, &format!("{ROOT}/shippings"), Some(&abcd), Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let shipping = r.json["shippingId"].as_u64().unwrap();
    assert_eq!(r.json["safetyLevel"], "GREEN", "default safety level (py-ISPyB: 500)");
    assert_eq!(r.json["LabContact"]["cardName"], "Ship");
    assert_eq!(r.json["LabContact1"]["Person"]["familyName"], "Byron");
    assert!(r.json["bltimeStamp"].is_string());

    // The other proposal's contact, an invisible proposal, a bad enum: nothing is written.
    let before = count(&app, "Shipping").await;
    let mut bad = body.clone();
    bad["returnLabContactId"] = json!(273118);
    let r = app.request(Method::POST, &format!("{ROOT}/shippings"), Some(&abcd), Some(bad)).await;
    assert_eq!(
        (r.status, r.json["detail"][0]["loc"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!(["body", "returnLabContactId"]))
    );
    let mut bad = body.clone();
    bad["proposalId"] = json!(9096);
    assert_eq!(
        app.request(Method::POST, &format!("{ROOT}/shippings"), Some(&abcd), Some(bad)).await.status,
        StatusCode::NOT_FOUND
    );
    let mut bad = body.clone();
    bad["safetyLevel"] = json!("PURPLE");
    let r = app.request(Method::POST, &format!("{ROOT}/shippings"), Some(&abcd), Some(bad)).await;
    assert_eq!(
        (r.status, r.json["detail"][0]["loc"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!(["body", "safetyLevel"]))
    );
    assert_eq!(count(&app, "Shipping").await, before);

    let r = app
        .request(
            Method::PATCH,
            &format!("{ROOT}/shippings/{shipping}"),
            Some(&abcd),
            Some(json!({"safetyLevel": "RED", "comments": "fragile"})),
        )
        .await;
    assert_eq!(
        (r.json["safetyLevel"].as_str(), r.json["comments"].as_str(), r.json["shippingName"].as_str()),
        (Some("RED"), Some("fragile"), Some("S2"))
    );

    // Dewars: type is stored (py-ISPyB: always 500) and shown under both names.
    let r = app
        .request(
            Method::POST,
            &format!("{ROOT}/dewars"),
            Some(&abcd),
            Some(json!({"shippingId": shipping, "code": "D1", "dewarType": "Toolbox"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let dewar = r.json["dewarId"].as_u64().unwrap();
    assert_eq!((r.json["type"].as_str(), r.json["dewarType"].as_str()), (Some("Toolbox"), Some("Toolbox")));
    assert_eq!(r.json["Shipping"], json!({"shippingId": shipping, "proposalId": 1, "shippingName": "S2"}));
    assert_eq!(app.get(&format!("/dewars?shippingId={shipping}"), Some(&abcd)).await.json["total"], 1);
    assert_eq!(app.get(&format!("/shippings/{shipping}"), Some(&abcd)).await.json["_metadata"]["dewars"], 1);
    let r = app
        .request(
            Method::POST,
            &format!("{ROOT}/dewars"),
            Some(&pasteur),
            Some(json!({"shippingId": shipping, "code": "X"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no dewar in another proposal's shipment");
    let r = app
        .request(Method::PATCH, &format!("{ROOT}/dewars/{dewar}"), Some(&abcd), Some(json!({"dewarType": "Crate"})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Containers: visible without samples (py-ISPyB hid them), get/patch work (py-ISPyB: 500).
    let r = app
        .request(
            Method::POST,
            &format!("{ROOT}/containers"),
            Some(&abcd),
            Some(json!({"dewarId": dewar, "code": "P1", "containerType": "Puck"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let container = r.json["containerId"].as_u64().unwrap();
    assert_eq!(r.json["Dewar"]["code"], "D1");
    assert_eq!(r.json["_metadata"]["samples"], 0);
    let r = app.get(&format!("/containers/{container}"), Some(&abcd)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .request(
            Method::PATCH,
            &format!("{ROOT}/containers/{container}"),
            Some(&abcd),
            Some(json!({"sampleChangerLocation": "3"})),
        )
        .await;
    assert_eq!((r.json["sampleChangerLocation"].as_str(), r.json["code"].as_str()), (Some("3"), Some("P1")));
    let r = app.get("/containers/1", Some(&abcd)).await;
    assert_eq!(r.json["_metadata"]["samples"], 1);
    assert_eq!(app.get("/containers/1", Some(&pasteur)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/containers?dewarId={dewar}"), Some(&abcd)).await.json["total"], 1);
    app.finish().await;
}

#[tokio::test]
async fn persons_of_visible_proposals_and_sessions() {
    let app = TestApp::ispyb().await;
    let pasteur = app.login("pasteur").await;
    let r = app.get("/persons", Some(&pasteur)).await;
    let ids: Vec<u64> = r.json["results"].as_array().unwrap().iter().map(|p| p["personId"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![404290, 404300], "pasteur (proposal and lab contact) and darwin (sessions)");
    assert!(r.json["results"][0].get("emailAddress").is_none(), "names only");
    let r = app.get("/persons?sessionId=70565", Some(&pasteur)).await;
    assert_eq!(r.json["total"], 1, "filters by session (py-ISPyB ignored it)");
    assert_eq!(r.json["results"][0]["_metadata"]["sessions"], 2);
    assert_eq!(r.json["results"][0]["_metadata"]["lastSession"], "2016-11-22T09:30:00");
    assert_eq!(app.get("/persons?proposal=MX1", Some(&pasteur)).await.json["total"], 2, "py-ISPyB: 500");
    assert_eq!(app.get("/persons?proposal=blc00001", Some(&pasteur)).await.json["total"], 0);
    let abcd = app.login("abcd").await;
    assert_eq!(app.get("/persons?sessionId=70565", Some(&abcd)).await.json["total"], 0);
    assert_eq!(app.get("/persons?showAll=true", Some(&abcd)).await.status, StatusCode::FORBIDDEN);
    app.grant("abcd", "manage_persons").await;
    let abcd = app.login("abcd").await;
    let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM Person WHERE login IS NOT NULL")
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
    assert_eq!(app.get("/persons?showAll=true&limit=1000", Some(&abcd)).await.json["total"].as_i64(), Some(all));
    app.finish().await;
}
