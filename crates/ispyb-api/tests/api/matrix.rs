//! The authorization matrix: every protected route, every kind of caller. Each cell asserts the
//! status and, for lists, exactly which rows come back. A route in the OpenAPI document that is
//! not in `ROUTES` fails `every_protected_route_is_in_the_matrix`, so new routes must join.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Kinds of caller, over the real test data (proposal MX1 = 9096 with sessions 70565..70568).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Malformed,
    Expired,
    /// darwin: on sessions 70565 (BL01) and 70567 (BL02) through Session_has_Person.
    SessionMember,
    /// pasteur: on MX1 through ProposalHasPerson.
    ProposalMember,
    /// curie: on nothing.
    Unrelated,
    /// efgh with bl_admin, the permission of the group of beamline BL01.
    BeamlineStaff,
    /// newton with all_proposals.
    AllProposals,
}

const CALLERS: [Who; 8] = [
    Who::Anonymous,
    Who::Malformed,
    Who::Expired,
    Who::SessionMember,
    Who::ProposalMember,
    Who::Unrelated,
    Who::BeamlineStaff,
    Who::AllProposals,
];

/// What a caller gets from a route.
enum Expect {
    /// A list whose rows have exactly these ids (under `key`).
    Rows(&'static [u64]),
    /// One object.
    Found,
    /// 404.
    Hidden,
}

/// A protected route: method and path as in the OpenAPI document, the concrete request (and
/// body, where `{who}` becomes the caller's name so each write is distinct), the row id key for
/// lists, and the expectation for each authenticated caller. Reads run before writes.
struct Route {
    method: &'static str,
    template: &'static str,
    request: &'static str,
    body: &'static str,
    key: &'static str,
    expect: fn(Who) -> Expect,
}

/// Who may see proposal MX1 (9096).
fn sees_mx1(w: Who) -> Expect {
    match w {
        Who::Unrelated => Expect::Hidden,
        _ => Expect::Found,
    }
}

/// Who may see proposal blc00001 (1), whose shipment, dewar and container the data has.
fn sees_blc(w: Who) -> Expect {
    match w {
        Who::AllProposals => Expect::Found,
        _ => Expect::Hidden,
    }
}

const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        body: "",
        template: "/proposals",
        request: "/proposals",
        key: "proposalId",
        expect: |w| match w {
            Who::SessionMember | Who::ProposalMember | Who::BeamlineStaff => Expect::Rows(&[9096]),
            Who::AllProposals => Expect::Rows(&[9096, 1]),
            _ => Expect::Rows(&[]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/proposals/{proposal}",
        request: "/proposals/MX1",
        key: "",
        expect: |w| match w {
            Who::Unrelated => Expect::Hidden,
            _ => Expect::Found,
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/sessions",
        request: "/sessions?limit=100",
        key: "sessionId",
        expect: |w| match w {
            Who::SessionMember => Expect::Rows(&[70565, 70567]),
            Who::ProposalMember => Expect::Rows(&[70568, 70566, 70565, 70567]),
            Who::BeamlineStaff => Expect::Rows(&[70568, 70566, 70565]),
            Who::AllProposals => Expect::Rows(&[1, 70568, 70566, 70565, 70567]),
            _ => Expect::Rows(&[]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/sessions/group",
        request: "/sessions/group?beamLineGroup=BL01%20staff",
        key: "sessionId",
        expect: |w| match w {
            Who::SessionMember => Expect::Rows(&[70565]),
            Who::ProposalMember | Who::BeamlineStaff | Who::AllProposals => Expect::Rows(&[70568]),
            _ => Expect::Rows(&[]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/sessions/{sessionId}",
        request: "/sessions/70567",
        key: "",
        expect: |w| match w {
            Who::SessionMember | Who::ProposalMember | Who::AllProposals => Expect::Found,
            _ => Expect::Hidden,
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/sessions/{sessionId}",
        request: "/sessions/70566",
        key: "",
        expect: |w| match w {
            Who::ProposalMember | Who::BeamlineStaff | Who::AllProposals => Expect::Found,
            _ => Expect::Hidden,
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/user/current",
        request: "/user/current",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/persons",
        request: "/persons",
        key: "personId",
        expect: |w| match w {
            Who::Unrelated => Expect::Rows(&[]),
            Who::AllProposals => Expect::Rows(&[1, 404290, 404300]),
            _ => Expect::Rows(&[404290, 404300]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/labcontacts",
        request: "/labcontacts",
        key: "labContactId",
        expect: |w| match w {
            Who::Unrelated => Expect::Rows(&[]),
            _ => Expect::Rows(&[273118]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/labcontacts/{labContactId}",
        request: "/labcontacts/273118",
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "GET",
        body: "",
        template: "/shippings",
        request: "/shippings",
        key: "shippingId",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1] } else { &[] }),
    },
    Route {
        method: "GET",
        body: "",
        template: "/shippings/{shippingId}",
        request: "/shippings/1",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "GET",
        body: "",
        template: "/dewars",
        request: "/dewars",
        key: "dewarId",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1] } else { &[] }),
    },
    Route { method: "GET", body: "", template: "/dewars/{dewarId}", request: "/dewars/1", key: "", expect: sees_blc },
    Route {
        method: "GET",
        body: "",
        template: "/containers",
        request: "/containers",
        key: "containerId",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1] } else { &[] }),
    },
    Route {
        method: "GET",
        body: "",
        template: "/containers/{containerId}",
        request: "/containers/1",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "POST",
        template: "/labcontacts",
        request: "/labcontacts",
        body: r#"{"proposalId": 9096, "cardName": "{who}", "Person": {"givenName": "A", "familyName": "{who}"}}"#,
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "PATCH",
        template: "/labcontacts/{labContactId}",
        request: "/labcontacts/273118",
        body: r#"{"courierAccount": "{who}"}"#,
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "POST",
        template: "/shippings",
        request: "/shippings",
        body: r#"{"proposalId": 9096, "shippingName": "{who}", "sendingLabContactId": 273118, "returnLabContactId": 273118}"#,
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "PATCH",
        template: "/shippings/{shippingId}",
        request: "/shippings/1",
        body: r#"{"comments": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "POST",
        template: "/dewars",
        request: "/dewars",
        body: r#"{"shippingId": 1, "code": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "PATCH",
        template: "/dewars/{dewarId}",
        request: "/dewars/1",
        body: r#"{"code": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "POST",
        template: "/containers",
        request: "/containers",
        body: r#"{"dewarId": 1, "code": "{who}", "containerType": "Puck"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "PATCH",
        template: "/containers/{containerId}",
        request: "/containers/1",
        body: r#"{"code": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
];

/// Routes that need authentication but act on the caller only, covered in auth.rs.
const NOT_ROW_FILTERED: &[&str] = &["/user/sign", "/auth/refresh"];

async fn token_for(app: &TestApp, who: Who) -> Option<String> {
    match who {
        Who::Anonymous => None,
        Who::Malformed => Some("not.a.token".into()),
        Who::Expired => {
            use jsonwebtoken::{EncodingKey, Header, encode};
            let claims =
                json!({"login": "newton", "personId": 404304, "permissions": ["all_proposals"], "iat": 1, "exp": 2});
            Some(encode(&Header::default(), &claims, &EncodingKey::from_secret(b"test-secret-key-0123456789")).unwrap())
        }
        Who::SessionMember => Some(app.login("darwin").await),
        Who::ProposalMember => Some(app.login("pasteur").await),
        Who::Unrelated => Some(app.login("curie").await),
        Who::BeamlineStaff => Some(app.login("efgh").await),
        Who::AllProposals => Some(app.login("newton").await),
    }
}

#[tokio::test]
async fn every_caller_sees_exactly_what_the_rules_allow() {
    let app = TestApp::ispyb().await;
    sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('beamLineGroups', ?)")
        .bind(r#"[{"groupName":"BL01 staff","uiGroup":"mx","permission":"bl_admin","beamLines":[{"beamLineName":"BL01"}]}]"#)
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    app.grant("efgh", "bl_admin").await;
    app.grant("newton", "all_proposals").await;
    let mut failures = Vec::new();
    let mut tokens = Vec::new();
    for who in CALLERS {
        tokens.push((who, token_for(&app, who).await));
    }
    // Reads first (their row lists are exact), then writes.
    let ordered = ROUTES.iter().filter(|r| r.method == "GET").chain(ROUTES.iter().filter(|r| r.method != "GET"));
    for route in ordered {
        for (who, token) in &tokens {
            let who = *who;
            let body = (!route.body.is_empty())
                .then(|| serde_json::from_str::<Value>(&route.body.replace("{who}", &format!("{who:?}"))).unwrap());
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let r = app.request(method, &format!("/ispyb/api/v1{}", route.request), token.as_deref(), body).await;
            let cell = format!("{who:?} {} {}", route.method, route.request);
            if matches!(who, Who::Anonymous | Who::Malformed | Who::Expired) {
                if r.status != StatusCode::UNAUTHORIZED {
                    failures.push(format!("{cell}: {} instead of 401", r.status));
                }
                continue;
            }
            match (route.expect)(who) {
                Expect::Rows(ids) => {
                    let got: Vec<u64> = r.json["results"]
                        .as_array()
                        .map_or_else(Vec::new, |rows| rows.iter().filter_map(|x| x[route.key].as_u64()).collect());
                    if r.status != StatusCode::OK || got != ids {
                        failures.push(format!("{cell}: {} {got:?}, expected 200 {ids:?}", r.status));
                    }
                    if r.json["total"].as_u64() != Some(ids.len() as u64) {
                        failures.push(format!("{cell}: total {} for {} rows", r.json["total"], ids.len()));
                    }
                }
                Expect::Found if !r.status.is_success() => {
                    failures.push(format!("{cell}: {} instead of 2xx: {}", r.status, r.text))
                }
                Expect::Hidden if r.status != StatusCode::NOT_FOUND => {
                    failures.push(format!("{cell}: {} instead of 404", r.status))
                }
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{} cells failed:\n{}", failures.len(), failures.join("\n"));
    app.finish().await;
}

#[tokio::test]
async fn every_protected_route_is_in_the_matrix() {
    let app = TestApp::ispyb().await;
    let doc = app.get("/openapi.json", None).await.json;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let Some(route) = path.strip_prefix("/ispyb/api/v1") else { continue };
            if !secured || NOT_ROW_FILTERED.contains(&route) {
                continue;
            }
            if !ROUTES.iter().any(|r| r.template == route && r.method.eq_ignore_ascii_case(method)) {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "add these routes to tests/api/matrix.rs ROUTES: {missing:?}");
    app.finish().await;
}
