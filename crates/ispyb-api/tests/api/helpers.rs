//! A test application over a per-test database, with request helpers.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use ispyb_api::AppState;
use ispyb_api::auth::plugins::AuthPlugins;
use ispyb_api::config::Config;
use ispyb_db::testing::TestDb;
use serde_json::Value;
use tower::ServiceExt;

/// The app over a test database.
pub struct TestApp {
    pub app: Router,
    pub state: AppState,
    pub test_db: TestDb,
}

/// A response: status, headers and the body parsed as JSON (`Value::Null` when it is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: Value,
    pub text: String,
}

/// Test configuration: defaults plus a fixed secret, overridable per test.
pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut f = Config::figment(None).unwrap().merge(("secret_key", "test-secret-key-0123456789"));
    for (k, v) in extra {
        // Typed like the environment provider types its values.
        f = match (v.parse::<u64>(), v.parse::<bool>()) {
            (Ok(n), _) => f.merge((k.to_string(), n)),
            (_, Ok(b)) => f.merge((k.to_string(), b)),
            _ => f.merge((k.to_string(), v.to_string())),
        };
    }
    Config::from_figment(f).unwrap()
}

impl TestApp {
    /// The real `ispyb` schema with py-ISPyB's test data, the dummy plugin enabled.
    pub async fn ispyb() -> Self {
        Self::with(TestDb::ispyb().await, config(&[])).await
    }

    /// An app over a given database and configuration.
    pub async fn with(test_db: TestDb, config: Config) -> Self {
        let state = AppState::new(test_db.db.clone(), config, AuthPlugins::dummy_only()).unwrap();
        Self { app: ispyb_api::app(state.clone()), state, test_db }
    }

    /// Sends a request; `token` becomes `Authorization: Bearer <token>`.
    pub async fn request(&self, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, json, text }
    }

    /// GET under API_ROOT.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, &format!("/ispyb/api/v1{path}"), token, None).await
    }

    /// Logs in with the dummy plugin and returns the token.
    pub async fn login(&self, login: &str) -> String {
        let r = self
            .request(
                Method::POST,
                "/ispyb/api/v1/auth/login",
                None,
                Some(serde_json::json!({"plugin": "dummy", "login": login, "password": "x"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "login {login}: {}", r.text);
        r.json["token"].as_str().unwrap().to_string()
    }

    /// Grants a permission to a person through a new user group.
    pub async fn grant(&self, login: &str, permission: &str) {
        let db = self.test_db.db.pool();
        let group = format!("g_{login}_{permission}");
        sqlx::query("INSERT INTO UserGroup (name) VALUES (?)").bind(&group).execute(db).await.unwrap();
        sqlx::query("INSERT IGNORE INTO Permission (type, description) VALUES (?, ?)")
            .bind(permission)
            .bind(permission)
            .execute(db)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO UserGroup_has_Permission (userGroupId, permissionId)
             SELECT g.userGroupId, p.permissionId FROM UserGroup g, Permission p WHERE g.name = ? AND p.type = ? LIMIT 1",
        )
        .bind(&group)
        .bind(permission)
        .execute(db)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO UserGroup_has_Person (userGroupId, personId)
             SELECT g.userGroupId, p.personId FROM UserGroup g, Person p WHERE g.name = ? AND p.login = ?",
        )
        .bind(&group)
        .bind(login)
        .execute(db)
        .await
        .unwrap();
    }

    /// Drops the test database.
    pub async fn finish(self) {
        self.test_db.drop().await;
    }
}

/// What py-ISPyB answered for a request on the same test data (`shared/spec/py-ispyb-responses`).
pub fn py_ispyb_response(name: &str) -> Value {
    let dir = std::env::var_os("ISPYB_SPEC_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec"));
    let path = dir.join("py-ispyb-responses").join(format!("{name}.json"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (set ISPYB_SPEC_DIR)", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Asserts that every field py-ISPyB returned is present with the same value (we may add
/// fields; we may not change or drop any). Lists compare element by element.
#[track_caller]
pub fn assert_superset(expected: &Value, actual: &Value, at: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let child = format!("{at}.{k}");
                let Some(av) = a.get(k) else { panic!("{child} missing; got {actual}") };
                assert_superset(v, av, &child);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{at}: list lengths differ: expected {expected}, got {actual}");
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                assert_superset(ev, av, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(expected, actual, "{at} differs"),
    }
}
