//! Request metrics: SQL statements per request, request counts, requests in flight and latency
//! per route, served at `GET /metrics` in the Prometheus text format.
//!
//! Statements are counted from the `tracing` event sqlx emits for every statement it runs
//! (target `sqlx::query`), so nothing in the data layer has to cooperate: [`layer`] is a
//! `tracing_subscriber` layer with its own filter (sqlx's debug events reach it even when the
//! log output is at `info`), and [`track`] is the middleware that gives each request its own
//! counter. The counter lives in a tokio task-local set around the request's future: sqlx runs
//! a statement on the task that awaits it, so every statement of the handler, its extractors
//! included, is counted for that request, and requests served in parallel never mix.
//!
//! `x-sql-statements: N` is added to every response when the layer is installed and
//! `ISPYB_STATEMENT_HEADER` is true; it defaults to true in debug builds and false in release
//! builds (the count is a hint about the query plan that production clients do not need).
//! `/metrics` always has the totals.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Filter};

/// The `tracing` target of sqlx's per-statement events.
pub const SQLX_TARGET: &str = "sqlx::query";

/// Name of the response header that carries the request's statement count.
pub const STATEMENT_HEADER: &str = "x-sql-statements";

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

static INSTALLED: AtomicBool = AtomicBool::new(false);
static STATEMENTS: AtomicU64 = AtomicU64::new(0);
static IN_FLIGHT: AtomicI64 = AtomicI64::new(0);
/// Per-route statistics, keyed by method and matched path.
type RouteTable = RwLock<HashMap<(Method, String), Arc<RouteStats>>>;

static ROUTES: OnceLock<RouteTable> = OnceLock::new();
static HEADER: OnceLock<bool> = OnceLock::new();

tokio::task_local! {
    static CURRENT: Arc<Recorder>;
}

/// Counts (and, when asked, records) the statements of one request or one [`capture`] scope;
/// each statement is also counted by the enclosing scopes.
struct Recorder {
    statements: AtomicU64,
    sql: Option<Mutex<Vec<String>>>,
    parent: Option<Arc<Recorder>>,
}

impl Recorder {
    fn new(record_sql: bool) -> Self {
        Self {
            statements: AtomicU64::new(0),
            sql: record_sql.then(|| Mutex::new(Vec::new())),
            parent: CURRENT.try_with(Arc::clone).ok(),
        }
    }

    fn count(&self, sql: &dyn Fn() -> String) {
        let mut r = Some(self);
        while let Some(rec) = r {
            rec.statements.fetch_add(1, Ordering::Relaxed);
            if let Some(list) = &rec.sql {
                list.lock().unwrap_or_else(|e| e.into_inner()).push(sql());
            }
            r = rec.parent.as_deref();
        }
    }
}

/// The layer that counts sqlx's statements, with its own filter: it sees every `sqlx::query`
/// event at any level and nothing else, whatever `RUST_LOG` says for the log output.
pub fn layer<S>() -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    StatementCounter.with_filter(statement_filter())
}

/// The per-layer filter of [`layer`].
fn statement_filter<S: Subscriber>() -> impl Filter<S> + Send + Sync + 'static {
    Targets::new().with_target(SQLX_TARGET, tracing::Level::TRACE)
}

/// Counts `sqlx::query` events process-wide and for the current request.
struct StatementCounter;

impl<S: Subscriber> Layer<S> for StatementCounter {
    fn on_layer(&mut self, _subscriber: &mut S) {
        INSTALLED.store(true, Ordering::Relaxed);
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != SQLX_TARGET {
            return;
        }
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
        let _ = CURRENT.try_with(|rec| rec.count(&|| statement_text(event)));
    }
}

/// The statement of a sqlx event: `db.statement` holds the whole text when it is longer than
/// the four-word `summary`, and is empty otherwise.
fn statement_text(event: &Event<'_>) -> String {
    #[derive(Default)]
    struct Fields {
        summary: String,
        statement: String,
    }
    impl Visit for Fields {
        fn record_str(&mut self, field: &Field, value: &str) {
            match field.name() {
                "summary" => self.summary = value.to_string(),
                "db.statement" => self.statement = value.to_string(),
                _ => {}
            }
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if matches!(field.name(), "summary" | "db.statement") {
                let text = format!("{value:?}");
                self.record_str(field, text.trim_matches('"'));
            }
        }
    }
    let mut f = Fields::default();
    event.record(&mut f);
    let statement = f.statement.trim();
    if statement.is_empty() { f.summary } else { statement.to_string() }
}

/// Counts, for the current request (and [`capture`] scope) only, a statement that runs on
/// another task: a streamed list's query is logged by sqlx when its last row has been read,
/// on the stream's task, outside the request; the process total counts it then.
pub fn count_detached(sql: &str) {
    if installed() {
        let _ = CURRENT.try_with(|rec| rec.count(&|| sql.to_string()));
    }
}

/// Whether [`layer`] is part of the global subscriber (without it nothing is counted).
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Statements run by the whole process since it started (while the layer was installed).
pub fn statements_total() -> u64 {
    STATEMENTS.load(Ordering::Relaxed)
}

/// Whether responses carry `x-sql-statements`: `ISPYB_STATEMENT_HEADER` (`true`/`false`,
/// `1`/`0`), read once; by default on in debug builds only.
pub fn header_enabled() -> bool {
    *HEADER.get_or_init(|| match std::env::var("ISPYB_STATEMENT_HEADER") {
        Ok(v) => matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"),
        Err(_) => cfg!(debug_assertions),
    })
}

/// Runs `fut` and returns what it returned with the text of every statement it ran, in order
/// (placeholders `?` as sqlx sent them). For tests and the benchmark; needs [`layer`].
pub async fn capture<F: Future>(fut: F) -> (F::Output, Vec<String>) {
    let rec = Arc::new(Recorder::new(true));
    let out = CURRENT.scope(rec.clone(), fut).await;
    let sql = rec.sql.as_ref().map(|m| std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner())));
    (out, sql.unwrap_or_default())
}

/// Counters of one route (method and matched path).
#[derive(Default)]
struct RouteStats {
    /// Responses by status class, 1xx to 5xx.
    by_class: [AtomicU64; 5],
    statements: AtomicU64,
    /// Cumulative counts per bucket of [`BUCKETS`], then the count of all.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of latencies, microseconds.
    micros: AtomicU64,
}

fn route_stats(method: &Method, route: &str) -> Arc<RouteStats> {
    let routes = ROUTES.get_or_init(Default::default);
    let key = (method.clone(), route.to_string());
    if let Some(s) = routes.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return s.clone();
    }
    routes.write().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().clone()
}

/// Decrements the in-flight gauge even when the request future is dropped.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Middleware: counts the request's statements (adding `x-sql-statements` when enabled) and
/// records its status, latency and statements under its route.
pub async fn track(req: Request, next: Next) -> Response {
    let _in_flight = InFlight::enter();
    let started = Instant::now();
    let method = req.method().clone();
    // Unmatched paths share one label, so scanners cannot grow the table.
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let rec = Arc::new(Recorder::new(false));
    let mut res = CURRENT.scope(rec.clone(), next.run(req)).await;
    let n = rec.statements.load(Ordering::Relaxed);
    let elapsed = started.elapsed();

    let stats = route_stats(&method, &route);
    let class = usize::from(res.status().as_u16() / 100).clamp(1, 5) - 1;
    stats.by_class[class].fetch_add(1, Ordering::Relaxed);
    stats.statements.fetch_add(n, Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    for (i, le) in BUCKETS.iter().enumerate() {
        if secs <= *le {
            stats.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    stats.buckets[BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
    stats.micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);

    if installed() && header_enabled() {
        res.headers_mut().insert(STATEMENT_HEADER, HeaderValue::from(n));
    }
    res
}

/// `GET /metrics`: Prometheus text exposition format 0.0.4.
pub async fn prometheus() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render()).into_response()
}

/// The metrics as Prometheus text.
pub fn render() -> String {
    let mut out = String::new();
    let routes: Vec<((Method, String), Arc<RouteStats>)> = ROUTES
        .get_or_init(Default::default)
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut routes = routes;
    routes.sort_by(|a, b| (a.0.1.as_str(), a.0.0.as_str()).cmp(&(b.0.1.as_str(), b.0.0.as_str())));
    let label =
        |m: &Method, r: &str| format!("method=\"{}\",route=\"{}\"", m, r.replace('\\', "\\\\").replace('"', "\\\""));

    let _ = writeln!(out, "# HELP ispyb_http_requests_total HTTP requests answered, by route and status class.");
    let _ = writeln!(out, "# TYPE ispyb_http_requests_total counter");
    for ((m, r), s) in &routes {
        for (i, c) in s.by_class.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(out, "ispyb_http_requests_total{{{},status=\"{}xx\"}} {n}", label(m, r), i + 1);
            }
        }
    }
    let _ = writeln!(out, "# HELP ispyb_http_requests_in_flight HTTP requests being served.");
    let _ = writeln!(out, "# TYPE ispyb_http_requests_in_flight gauge");
    let _ = writeln!(out, "ispyb_http_requests_in_flight {}", IN_FLIGHT.load(Ordering::Relaxed));
    let _ = writeln!(
        out,
        "# HELP ispyb_http_request_duration_seconds Time to answer, by route (handler and middleware inside compression)."
    );
    let _ = writeln!(out, "# TYPE ispyb_http_request_duration_seconds histogram");
    for ((m, r), s) in &routes {
        let l = label(m, r);
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "ispyb_http_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {}",
                s.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = s.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "ispyb_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {count}");
        let sum = s.micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "ispyb_http_request_duration_seconds_sum{{{l}}} {sum}");
        let _ = writeln!(out, "ispyb_http_request_duration_seconds_count{{{l}}} {count}");
    }
    let _ = writeln!(out, "# HELP ispyb_http_request_sql_statements_total SQL statements run by requests, by route.");
    let _ = writeln!(out, "# TYPE ispyb_http_request_sql_statements_total counter");
    for ((m, r), s) in &routes {
        let _ = writeln!(
            out,
            "ispyb_http_request_sql_statements_total{{{}}} {}",
            label(m, r),
            s.statements.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP ispyb_sql_statements_total SQL statements run by the process (requests and background work)."
    );
    let _ = writeln!(out, "# TYPE ispyb_sql_statements_total counter");
    let _ = writeln!(out, "ispyb_sql_statements_total {}", statements_total());
    let _ = writeln!(out, "# HELP ispyb_sql_statement_counter_installed 1 when statements are counted.");
    let _ = writeln!(out, "# TYPE ispyb_sql_statement_counter_installed gauge");
    let _ = writeln!(out, "ispyb_sql_statement_counter_installed {}", u8::from(installed()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_an_empty_registry() {
        let text = render();
        assert!(text.contains("# TYPE ispyb_http_requests_in_flight gauge"), "{text}");
        assert!(text.contains("ispyb_sql_statements_total "), "{text}");
    }

    #[test]
    fn the_header_name_is_a_valid_header() {
        assert!(axum::http::HeaderName::from_static(STATEMENT_HEADER).as_str() == STATEMENT_HEADER);
    }
}
