//! Load driver of `bench/run.sh`: starts the release server (pinned to core 1) on each of two
//! seeded databases, captures the SQL each request of the mix runs (MariaDB's general log,
//! values in place), then drives the mix over HTTP and the same statements directly against
//! MariaDB at 1, 16 and 64 clients, and prints one table and the three ratios.
//!
//! Everything talks to 127.0.0.1 only, and every run is bounded in time.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, MySqlConnection, MySqlPool};

/// Benchmark driver (run through bench/run.sh).
#[derive(Parser, Debug)]
struct Args {
    /// The `ispyb` release binary.
    #[arg(long)]
    server: PathBuf,
    /// `mysql://user:password@127.0.0.1:port` of the benchmark MariaDB (no database part).
    #[arg(long)]
    db_url: String,
    /// Database of the small scale.
    #[arg(long)]
    small: String,
    /// Database of the large scale.
    #[arg(long)]
    large: String,
    /// Scale of the small database (for the table).
    #[arg(long, default_value_t = 10)]
    small_scale: u32,
    /// Scale of the large database.
    #[arg(long, default_value_t = 1000)]
    large_scale: u32,
    /// Process id of mariadbd (its CPU time is read from /proc).
    #[arg(long)]
    mariadb_pid: u32,
    /// Output folder.
    #[arg(long, default_value = "bench/out")]
    out: PathBuf,
    /// Shorter runs.
    #[arg(long)]
    quick: bool,
    /// Seconds per measurement of the mix (default 4, 1.5 with --quick).
    #[arg(long)]
    duration: Option<f64>,
    /// Concurrent clients, comma-separated.
    #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
    clients: Vec<usize>,
    /// Database connections of the server and of the raw-SQL side.
    #[arg(long, default_value_t = 10)]
    pool: u32,
    /// CPU the server is pinned to.
    #[arg(long, default_value_t = 1)]
    server_cpu: u32,
    /// Diagnostic: time ten requests of this URL (with `--probe-token`) as the load does, and exit.
    #[arg(long, hide = true)]
    probe_url: Option<String>,
    /// Bearer token of `--probe-url`.
    #[arg(long, hide = true, default_value = "")]
    probe_token: String,
}

/// The three identities of the mix: a user on a few sessions, beamline staff through a beamline
/// group, an `all_proposals` administrator (logins made by `ispyb db seed`).
const IDENTITIES: &[&str] = &["user1", "staff", "admin"];

/// Requests of the mix: name and path under API_ROOT; `{…}` are filled per identity. Routes
/// missing from the server's OpenAPI document are left out, so the mix grows with the server.
const MIX: &[(&str, &str)] = &[
    ("proposals", "/proposals?limit=25"),
    ("proposals search", "/proposals?search=structure&limit=25"),
    ("sessions", "/sessions?limit=25"),
    ("sessions month", "/sessions?month={month}&year={year}&limit=25"),
    ("sessions group", "/sessions/group?beamLineGroup=MX"),
    ("session", "/sessions/{sessionId}"),
    ("session persons", "/persons?sessionId={sessionId}&limit=25"),
    ("labcontacts", "/labcontacts?proposal={proposal}&limit=25"),
    ("shippings", "/shippings?proposal={proposal}&limit=25"),
    ("dewars", "/dewars?proposal={proposal}&limit=25"),
    ("samples", "/samples?proposal={proposal}&limit=25"),
    ("proteins", "/proteins?proposal={proposal}&limit=25"),
    ("events", "/events?sessionId={sessionId}&limit=25"),
    ("processing status", "/processings/status?dataCollectionIds={dcIds}"),
    ("em summary", "/em/sessions/{emSessionId}/summary"),
    ("em movie page", "/em/movies?dataCollectionId={emDcId}&limit=25"),
    ("em histogram", "/em/sessions/{emSessionId}/histogram?field=resolution"),
    ("em statistics", "/em/sessions/{emSessionId}/statistics"),
    ("legacy em stats", "/legacy/em/session/{emSessionId}/stats"),
    ("legacy em movies", "/legacy/em/proposal/{emProposal}/datacollection/{emDcId}/movies"),
    ("legacy sessions", "/legacy/sessions/date/{weekAgo}/{weekAhead}"),
    ("legacy dc groups", "/legacy/data_collections/groups/session/{sessionId}"),
];

const API_ROOT: &str = "/ispyb/api/v1";

/// Longest a request (or a request's statements on the raw side) may take before it counts as
/// an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Serialize)]
struct Target {
    endpoint: String,
    identity: String,
    url: String,
    #[serde(skip)]
    base: String,
    #[serde(skip)]
    token: String,
    /// What the request ran, values in place (without the options read every few seconds).
    statements: Vec<String>,
    /// `x-sql-statements` of the captured request.
    header_statements: Option<u64>,
}

/// One request's outcome.
#[derive(Clone, Copy)]
struct Sample {
    target: u16,
    micros: u32,
    ok: bool,
    statements: u16,
}

#[derive(Clone, Debug, Default, Serialize)]
struct Stats {
    requests: usize,
    seconds: f64,
    rps: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    over_100ms: f64,
    over_1s: f64,
    errors: usize,
    server_cpu: Option<f64>,
    db_cpu: f64,
    driver_cpu: f64,
    server_rss_peak_mb: Option<f64>,
    statements_per_request: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Row {
    scale: u32,
    clients: usize,
    side: &'static str,
    stats: Stats,
}

#[derive(Debug, Default, Serialize)]
struct EndpointReport {
    statements: f64,
    p50_small_ms: Option<f64>,
    p50_large_ms: Option<f64>,
    server_rps: Option<f64>,
    raw_rps: Option<f64>,
    /// Server and MariaDB CPU (fraction of one core) while the server run of (a).
    server_cpu: Option<f64>,
    db_cpu: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
struct ScaleReport {
    scale: u32,
    database: String,
    startup_ms: f64,
    endpoints: Vec<String>,
    skipped: Vec<String>,
    /// Full scans of tables over 10,000 rows in the plans of the mix's statements.
    scans: Vec<String>,
    /// What the mix was built from (the EM session and its size).
    notes: Vec<String>,
    targets: Vec<Target>,
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(url) = &args.probe_url {
        let http =
            reqwest::Client::builder().no_proxy().pool_max_idle_per_host(128).timeout(REQUEST_TIMEOUT).build()?;
        for _ in 0..10 {
            let t0 = Instant::now();
            let r = http.get(url).bearer_auth(&args.probe_token).send().await?;
            let head = t0.elapsed();
            let n = r.bytes().await?.len();
            eprintln!("{n} bytes: headers {head:?}, whole {:?}", t0.elapsed());
        }
        return Ok(());
    }
    std::fs::create_dir_all(&args.out)?;
    let duration = Duration::from_secs_f64(args.duration.unwrap_or(if args.quick { 1.5 } else { 4.0 }));
    let per_endpoint = duration.mul_f64(0.5);
    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut endpoints: BTreeMap<String, EndpointReport> = BTreeMap::new();
    let mut scales: Vec<ScaleReport> = Vec::new();
    let mut ratio_mix: Vec<(u32, usize, f64)> = Vec::new();
    let mut memory: Vec<String> = Vec::new();

    for (scale, database, large) in [(args.small_scale, &args.small, false), (args.large_scale, &args.large, true)] {
        eprintln!("== scale {scale} ({database})");
        // A request slower than REQUEST_TIMEOUT counts as an error, so every run ends in time.
        let http =
            reqwest::Client::builder().no_proxy().pool_max_idle_per_host(128).timeout(REQUEST_TIMEOUT).build()?;
        let raw_pool = raw_pool(&args, database).await?;
        let mut report = ScaleReport { scale, database: database.clone(), ..Default::default() };
        // MariaDB writes a prepared statement's values into the general log only when the log
        // was on as it was prepared: a first server, started with the log on, gives the SQL.
        let mut ctl = MySqlConnection::connect(&format!("{}/{database}", args.db_url)).await?;
        ctl.execute("SET GLOBAL log_output = 'TABLE'").await?;
        ctl.execute("SET GLOBAL general_log = 1").await?;
        let captured = async {
            let server = Server::start(&args, database).await?;
            let mut targets = build_targets(&http, &server.base, &raw_pool, &mut report).await?;
            capture(&args, database, &mut ctl, &mut targets).await?;
            server.stop().await;
            anyhow::Ok(targets)
        }
        .await;
        ctl.execute("SET GLOBAL general_log = 0").await?;
        ctl.execute("TRUNCATE TABLE mysql.general_log").await?;
        let _ = ctl.close().await;
        let targets = captured?;
        // The measured server: fresh connections, log off.
        let server = Server::start(&args, database).await?;
        report.startup_ms = server.startup.as_secs_f64() * 1e3;
        eprintln!("   server ready in {:.0} ms (start-up with schema check), pid {}", report.startup_ms, server.pid);
        let targets: Vec<Target> = targets
            .into_iter()
            .map(|mut t| {
                t.url = t.url.replacen(&t.base, &server.base, 1);
                t.base = server.base.clone();
                t
            })
            .collect();
        report.endpoints = unique(targets.iter().map(|t| t.endpoint.clone()));
        eprintln!(
            "   mix: {} requests over {} endpoints: {}",
            targets.len(),
            report.endpoints.len(),
            report.endpoints.join(", ")
        );
        let targets = Arc::new(targets);

        // Warm both sides (connections, statement caches, buffer pool).
        let _ = drive_http(&http, &targets, 16, Duration::from_millis(500)).await;
        let _ = drive_sql(&raw_pool, &targets, 16, Duration::from_millis(500)).await;

        for &clients in &args.clients {
            let (server_stats, _) =
                measure(&args, Some(server.pid), || drive_http(&http, &targets, clients, duration)).await;
            eprintln!("   {clients:>2} clients, server: {}", brief(&server_stats));
            let (raw_stats, _) = measure(&args, None, || drive_sql(&raw_pool, &targets, clients, duration)).await;
            eprintln!("   {clients:>2} clients, raw SQL: {}", brief(&raw_stats));
            ratio_mix.push((scale, clients, server_stats.rps / raw_stats.rps.max(1e-9)));
            if clients == *args.clients.iter().max().unwrap_or(&64) {
                memory.push(format!(
                    "scale {scale}: server peak RSS {:.1} MB after {clients} clients",
                    server_stats.server_rss_peak_mb.unwrap_or(0.0)
                ));
            }
            rows.push(Row { scale, clients, side: "server", stats: server_stats });
            rows.push(Row { scale, clients, side: "raw SQL", stats: raw_stats });
        }
        for t in targets.iter() {
            let e = endpoints.entry(t.endpoint.clone()).or_default();
            // The mean over identities of the statements of one request.
            let n = targets.iter().filter(|u| u.endpoint == t.endpoint).count() as f64;
            if large {
                e.statements += t.header_statements.unwrap_or(t.statements.len() as u64) as f64 / n;
            }
        }
        // Ratio (b): each endpoint alone, one client (its identities in turn), p50.
        for name in report.endpoints.clone() {
            let only: Arc<Vec<Target>> = Arc::new(targets.iter().filter(|t| t.endpoint == name).cloned().collect());
            // A client of its own: one connection, warmed by one request per identity.
            let alone = reqwest::Client::builder().no_proxy().timeout(REQUEST_TIMEOUT).build()?;
            for t in only.iter() {
                if let Ok(r) = alone.get(&t.url).bearer_auth(&t.token).send().await {
                    let _ = r.bytes().await;
                }
            }
            let (_, samples) = measure(&args, Some(server.pid), || drive_http(&alone, &only, 1, per_endpoint)).await;
            for (endpoint, p50) in p50_by_endpoint(&only, &samples) {
                let e = endpoints.entry(endpoint).or_default();
                if large {
                    e.p50_large_ms = Some(p50);
                } else {
                    e.p50_small_ms = Some(p50);
                }
            }
        }
        if large {
            // Ratio (a) per endpoint: that endpoint alone, server then raw SQL, 16 clients.
            let names = report.endpoints.clone();
            for name in names {
                let only: Arc<Vec<Target>> = Arc::new(targets.iter().filter(|t| t.endpoint == name).cloned().collect());
                let (s, _) = measure(&args, Some(server.pid), || drive_http(&http, &only, 16, per_endpoint)).await;
                let (r, _) = measure(&args, None, || drive_sql(&raw_pool, &only, 16, per_endpoint)).await;
                let e = endpoints.entry(name.clone()).or_default();
                e.server_rps = Some(s.rps);
                e.raw_rps = Some(r.rps);
                e.server_cpu = s.server_cpu;
                e.db_cpu = Some(s.db_cpu);
                eprintln!("   {name}: server {:.0}/s, raw SQL {:.0}/s", s.rps, r.rps);
            }
        }
        report.scans =
            explain_scans(&raw_pool, database, &targets).await.unwrap_or_else(|e| vec![format!("EXPLAIN failed: {e}")]);
        report.targets = targets.iter().cloned().collect();
        scales.push(report);
        // Statements cut off by the timeout may keep their connection: do not wait for them.
        let _ = tokio::time::timeout(Duration::from_secs(2), raw_pool.close()).await;
        server.stop().await;
    }

    let text = render(&args, &rows, &endpoints, &scales, &ratio_mix, &memory, started.elapsed());
    println!("{text}");
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    std::fs::write(args.out.join(format!("bench-{stamp}.txt")), &text)?;
    std::fs::write(args.out.join("latest.txt"), &text)?;
    let json = json!({"rows": rows, "endpoints": endpoints, "scales": scales, "quick": args.quick});
    std::fs::write(args.out.join(format!("bench-{stamp}.json")), serde_json::to_string_pretty(&json)?)?;
    Ok(())
}

fn unique(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

fn brief(s: &Stats) -> String {
    format!("{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors", s.rps, s.p50_ms, s.p99_ms, s.errors)
}

// --- the server ------------------------------------------------------------------------------

struct Server {
    child: tokio::process::Child,
    pid: u32,
    base: String,
    startup: Duration,
}

impl Server {
    /// Starts `ispyb serve` pinned to one core and waits until `/ready` answers 200.
    async fn start(args: &Args, database: &str) -> anyhow::Result<Self> {
        let auth = args.out.join("auth.yml");
        std::fs::write(
            &auth,
            "AUTH:\n  - dummy:\n      ENABLED: true\n      AUTH_MODULE: \"pyispyb.app.extensions.auth.DummyAuthentication\"\n      AUTH_CLASS: \"DummyAuthentication\"\n",
        )?;
        let port = free_port()?;
        let log = std::fs::File::create(args.out.join(format!("server-{database}.log")))?;
        let started = Instant::now();
        let child = tokio::process::Command::new("taskset")
            .arg("-c")
            .arg(args.server_cpu.to_string())
            .arg(&args.server)
            .arg("serve")
            .env(
                "DATABASE_URL",
                format!(
                    "{}/{database}{}",
                    args.db_url,
                    std::env::var("ISPYB_BENCH_DB_PARAMS").map(|p| format!("?{p}")).unwrap_or_default()
                ),
            )
            .env("SECRET_KEY", "bench-secret-key-0123456789abcdef")
            .env("AUTH_CONFIG", &auth)
            .env("ISPYB_ALLOW_DUMMY_AUTH", "true")
            .env("ISPYB_BIND", format!("127.0.0.1:{port}"))
            .env("ISPYB_STATEMENT_HEADER", "true")
            .env("ISPYB_DATABASE_POOL", args.pool.to_string())
            .env("ISPYB_LOGIN_MAX_FAILURES", "1000000")
            // ISPYB_BENCH_SERVER_LOG (a RUST_LOG value) for a diagnostic run; the log is in bench/out.
            .env("RUST_LOG", std::env::var("ISPYB_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .env_remove("ISPYB_CONFIG")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting the server")?;
        let pid = child.id().context("server pid")?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder().no_proxy().build()?;
        let mut server = Self { child, pid, base, startup: Duration::ZERO };
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the server exited ({status}); see {}",
                    args.out.join(format!("server-{database}.log")).display()
                );
            }
            if let Ok(r) = client.get(format!("{}/ready", server.base)).send().await
                && r.status().is_success()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the server was not ready within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.startup = started.elapsed();
        Ok(server)
    }

    async fn stop(mut self) {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

// --- the mix ---------------------------------------------------------------------------------

async fn login(http: &reqwest::Client, base: &str, login: &str) -> anyhow::Result<String> {
    let r = http
        .post(format!("{base}{API_ROOT}/auth/login"))
        .json(&json!({"plugin": "dummy", "login": login, "password": "bench"}))
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    body["token"].as_str().map(str::to_string).with_context(|| format!("login {login}: {status} {body}"))
}

async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Value {
    match http.get(url).bearer_auth(token).send().await {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// A visible session with data collections among the first results of `query`.
async fn session_with_data(http: &reqwest::Client, base: &str, token: &str, query: &str) -> Option<Value> {
    let v = get_json(http, &format!("{base}{API_ROOT}/sessions?{query}"), token).await;
    let rows = v["results"].as_array()?;
    rows.iter().find(|s| s["_metadata"]["datacollections"].as_i64().unwrap_or(0) > 0).or_else(|| rows.first()).cloned()
}

/// The mix for each identity, with its parameters chosen from what that identity sees.
async fn build_targets(
    http: &reqwest::Client,
    base: &str,
    db: &MySqlPool,
    report: &mut ScaleReport,
) -> anyhow::Result<Vec<Target>> {
    let doc: Value = http.get(format!("{base}{API_ROOT}/openapi.json")).send().await?.json().await?;
    let paths: Vec<String> = doc["paths"]
        .as_object()
        .map(|p| p.iter().filter(|(_, item)| item.get("get").is_some()).map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let exists = |template: &str| {
        let path = template.split('?').next().unwrap_or("");
        let full = format!("{API_ROOT}{path}");
        let want: Vec<&str> = full.split('/').collect();
        paths.iter().any(|p| {
            let have: Vec<&str> = p.split('/').collect();
            have.len() == want.len()
                && have.iter().zip(&want).all(|(h, w)| h == w || (h.starts_with('{') && w.starts_with('{')))
        })
    };
    let today = chrono::Local::now().date_naive();
    let mut targets = Vec::new();
    for identity in IDENTITIES {
        let token = login(http, base, identity).await?;
        let mut vars: HashMap<&str, String> = HashMap::new();
        vars.insert("month", chrono::Datelike::month(&today).to_string());
        vars.insert("year", chrono::Datelike::year(&today).to_string());
        vars.insert("weekAgo", (today - chrono::Duration::days(7)).format("%Y%m%d").to_string());
        vars.insert("weekAhead", (today + chrono::Duration::days(7)).format("%Y%m%d").to_string());
        if let Some(s) = session_with_data(http, base, &token, "previous=true&limit=50").await {
            let id = s["sessionId"].as_u64().unwrap_or(0);
            vars.insert("sessionId", id.to_string());
            if let Some(p) = s["proposal"].as_str() {
                vars.insert("proposal", p.to_string());
            }
            let dcs: Vec<u32> = sqlx::query_scalar(
                "SELECT dc.dataCollectionId FROM DataCollection dc JOIN DataCollectionGroup g
                 ON g.dataCollectionGroupId = dc.dataCollectionGroupId WHERE g.sessionId = ? ORDER BY 1 LIMIT 10",
            )
            .bind(id as u32)
            .fetch_all(db)
            .await
            .unwrap_or_default();
            if !dcs.is_empty() {
                let list = format!("[{}]", dcs.iter().map(u32::to_string).collect::<Vec<_>>().join(","));
                vars.insert("dcIds", list.replace('[', "%5B").replace(']', "%5D").replace(',', "%2C"));
            }
        }
        if let Some(s) = session_with_data(http, base, &token, "beamLineGroup=EM&previous=true&limit=50").await {
            let id = s["sessionId"].as_u64().unwrap_or(0);
            vars.insert("emSessionId", id.to_string());
            if let Some(p) = s["proposal"].as_str() {
                vars.insert("emProposal", p.to_string());
            }
            let dc: Option<u32> = sqlx::query_scalar(
                "SELECT dc.dataCollectionId FROM DataCollection dc JOIN DataCollectionGroup g
                 ON g.dataCollectionGroupId = dc.dataCollectionGroupId WHERE g.sessionId = ? ORDER BY 1 LIMIT 1",
            )
            .bind(id as u32)
            .fetch_optional(db)
            .await
            .unwrap_or_default();
            if let Some(dc) = dc {
                vars.insert("emDcId", dc.to_string());
                // The EM routes' cost grows with the movies they summarise: say how many.
                let movies: (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*), CAST(COALESCE(SUM(dc.dataCollectionId = ?), 0) AS SIGNED) FROM Movie m JOIN DataCollection dc
                       ON dc.dataCollectionId = m.dataCollectionId JOIN DataCollectionGroup g
                       ON g.dataCollectionGroupId = dc.dataCollectionGroupId WHERE g.sessionId = ?",
                )
                .bind(dc)
                .bind(id as u32)
                .fetch_one(db)
                .await
                .unwrap_or((0, 0));
                report.notes.push(format!(
                    "EM routes as {identity}: session {id} ({} movies), data collection {dc} ({} movies)",
                    movies.0, movies.1
                ));
            }
        }
        for (name, template) in MIX {
            if !exists(template) {
                if !report.skipped.iter().any(|s| s.starts_with(name)) {
                    report.skipped.push(format!("{name} (no route {template})"));
                }
                continue;
            }
            let Some(path) = fill(template, &vars) else {
                report.skipped.push(format!("{name} for {identity} (nothing to ask for)"));
                continue;
            };
            targets.push(Target {
                endpoint: (*name).to_string(),
                identity: (*identity).to_string(),
                url: format!("{base}{API_ROOT}{path}"),
                base: base.to_string(),
                token: token.clone(),
                statements: Vec::new(),
                header_statements: None,
            });
        }
    }
    Ok(targets)
}

fn fill(template: &str, vars: &HashMap<&str, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        out.push_str(vars.get(&rest[start + 1..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

// --- capturing the SQL of each request -------------------------------------------------------

/// Sends each request once with MariaDB's general log on (to a table) and keeps the statements
/// the server's connections ran, values in place. Requests that fail are dropped from the mix.
async fn capture(
    args: &Args,
    database: &str,
    ctl: &mut MySqlConnection,
    targets: &mut Vec<Target>,
) -> anyhow::Result<()> {
    // A slow request is kept in the mix (its timeouts show in the table), so wait for it here.
    let http = &reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(180)).build()?;
    // Warm-up: connections and the options cache, so each request below runs only its own SQL.
    for t in targets.iter() {
        let _ = http.get(&t.url).bearer_auth(&t.token).send().await;
    }
    let result = async {
        let mut kept = Vec::new();
        for mut t in std::mem::take(targets) {
            ctl.execute("TRUNCATE TABLE mysql.general_log").await?;
            let r = http.get(&t.url).bearer_auth(&t.token).send().await?;
            let status = r.status();
            t.header_statements =
                r.headers().get("x-sql-statements").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
            let _ = r.bytes().await;
            let logged: Vec<(String, String)> = sqlx::query_as(
                "SELECT CONVERT(command_type USING utf8mb4), CONVERT(argument USING utf8mb4) FROM mysql.general_log
                 WHERE thread_id <> CONNECTION_ID()",
            )
            .fetch_all(&mut *ctl)
            .await?;
            t.statements = logged
                .into_iter()
                .filter(|(kind, sql)| {
                    (kind == "Execute" || kind == "Query")
                        && !sql.trim_start().to_ascii_uppercase().starts_with("SET ")
                        && !sql.contains("FROM AdminVar")
                })
                .map(|(_, sql)| sql)
                .collect();
            let unexpanded = t.statements.iter().any(|s| ["= ?", "(?", "LIMIT ?", " ?,"].iter().any(|p| s.contains(p)));
            if unexpanded {
                eprintln!("   left out {} as {}: its SQL was logged without its values", t.endpoint, t.identity);
            } else if status.is_success() && !t.statements.is_empty() {
                kept.push(t);
            } else {
                eprintln!("   left out {} as {}: {status}", t.endpoint, t.identity);
            }
        }
        anyhow::Ok(kept)
    }
    .await;
    *targets = result?;
    std::fs::write(
        args.out.join(format!("statements-{database}.json")),
        serde_json::to_string_pretty(&targets.iter().map(|t| json!({"endpoint": t.endpoint, "identity": t.identity, "url": t.url, "statements": t.statements})).collect::<Vec<_>>())?,
    )?;
    Ok(())
}

async fn raw_pool(args: &Args, database: &str) -> anyhow::Result<MySqlPool> {
    let opts: MySqlConnectOptions = format!("{}/{database}", args.db_url).parse()?;
    let opts = opts.statement_cache_capacity(1024).disable_statement_logging().timezone(None::<String>);
    Ok(MySqlPoolOptions::new().max_connections(args.pool).min_connections(args.pool).connect_with(opts).await?)
}

/// `EXPLAIN`s every statement of the mix and lists the full scans (`type: ALL`) of tables over
/// 10,000 rows; bounded counts (`… LIMIT n) bounded`) stop early and are left out.
async fn explain_scans(pool: &MySqlPool, database: &str, targets: &[Target]) -> anyhow::Result<Vec<String>> {
    let sizes: HashMap<String, u64> = sqlx::query_as::<_, (String, u64)>(
        "SELECT TABLE_NAME, CAST(COALESCE(TABLE_ROWS, 0) AS UNSIGNED) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    )
    .bind(database)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let mut by_sql: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in targets {
        for sql in &t.statements {
            by_sql.entry(sql.clone()).or_default().push(format!("{} as {}", t.endpoint, t.identity));
        }
    }
    let mut out = Vec::new();
    for (sql, users) in by_sql {
        if sql.trim_end().ends_with(") bounded") {
            continue;
        }
        let rows = sqlx::raw_sql(AssertSqlSafe(format!("EXPLAIN {sql}"))).fetch_all(pool).await?;
        let aliases = ispyb_db::meta::table_aliases(&sql);
        for r in rows {
            use sqlx::Row;
            let table: Option<String> = r.try_get("table").unwrap_or(None);
            let kind: Option<String> = r.try_get("type").unwrap_or(None);
            let (Some(table), Some("ALL")) = (table, kind.as_deref()) else { continue };
            let name = aliases.get(&table).cloned().unwrap_or(table);
            let n = sizes.get(&name).copied().unwrap_or(0);
            if n > 10_000 {
                let excerpt: String = sql.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(100).collect();
                out.push(format!("{name} (~{n} rows) in {}: {excerpt}…", unique(users.iter().cloned()).join(", ")));
            }
        }
    }
    Ok(out)
}

// --- load ------------------------------------------------------------------------------------

/// Clients send the mix in turn (a shared cursor) until `duration` has passed.
async fn drive_http(
    http: &reqwest::Client,
    targets: &Arc<Vec<Target>>,
    clients: usize,
    duration: Duration,
) -> (Vec<Sample>, f64) {
    let cursor = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, targets, cursor) = (http.clone(), targets.clone(), cursor.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let i = cursor.fetch_add(1, Ordering::Relaxed) % targets.len();
                let t = &targets[i];
                let t0 = Instant::now();
                let (ok, statements) = match http.get(&t.url).bearer_auth(&t.token).send().await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        let n = r
                            .headers()
                            .get("x-sql-statements")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok());
                        let body = r.bytes().await;
                        (ok && body.is_ok(), n.unwrap_or(0))
                    }
                    Err(_) => (false, 0),
                };
                samples.push(Sample { target: i as u16, micros: t0.elapsed().as_micros() as u32, ok, statements });
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    (all, started.elapsed().as_secs_f64())
}

/// The same, running each request's statements in order on the pool, rows fetched.
async fn drive_sql(
    pool: &MySqlPool,
    targets: &Arc<Vec<Target>>,
    clients: usize,
    duration: Duration,
) -> (Vec<Sample>, f64) {
    let cursor = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (pool, targets, cursor) = (pool.clone(), targets.clone(), cursor.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let i = cursor.fetch_add(1, Ordering::Relaxed) % targets.len();
                let t = &targets[i];
                let t0 = Instant::now();
                let mut ok = true;
                for sql in &t.statements {
                    let run = sqlx::query(AssertSqlSafe(sql.clone())).fetch_all(&pool);
                    if !matches!(tokio::time::timeout(REQUEST_TIMEOUT, run).await, Ok(Ok(_))) {
                        ok = false;
                    }
                }
                samples.push(Sample {
                    target: i as u16,
                    micros: t0.elapsed().as_micros() as u32,
                    ok,
                    statements: t.statements.len() as u16,
                });
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    (all, started.elapsed().as_secs_f64())
}

/// Runs a load and measures it: latencies, and CPU of the server and of MariaDB from /proc.
async fn measure<F, Fut>(args: &Args, server: Option<u32>, load: F) -> (Stats, Vec<Sample>)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = (Vec<Sample>, f64)>,
{
    let db0 = cpu_seconds(args.mariadb_pid);
    let s0 = server.map(cpu_seconds);
    let d0 = cpu_seconds(std::process::id());
    let (samples, seconds) = load().await;
    let db1 = cpu_seconds(args.mariadb_pid);
    let s1 = server.map(cpu_seconds);
    let d1 = cpu_seconds(std::process::id());
    let mut stats = summarize(&samples, seconds);
    stats.db_cpu = (db1 - db0) / seconds;
    stats.driver_cpu = (d1 - d0) / seconds;
    stats.server_cpu = s0.zip(s1).map(|(a, b)| (b - a) / seconds);
    stats.server_rss_peak_mb = server.and_then(|pid| status_kb(pid, "VmHWM")).map(|kb| kb as f64 / 1024.0);
    (stats, samples)
}

fn summarize(samples: &[Sample], seconds: f64) -> Stats {
    let mut micros: Vec<u32> = samples.iter().map(|s| s.micros).collect();
    micros.sort_unstable();
    let pct = |p: f64| -> f64 {
        if micros.is_empty() {
            return 0.0;
        }
        let i = ((micros.len() as f64 * p).ceil() as usize).clamp(1, micros.len()) - 1;
        micros[i] as f64 / 1e3
    };
    let n = samples.len();
    let share = |limit: u32| if n == 0 { 0.0 } else { micros.iter().filter(|&&m| m > limit).count() as f64 / n as f64 };
    let with_header: Vec<&Sample> = samples.iter().filter(|s| s.statements > 0).collect();
    Stats {
        requests: n,
        seconds,
        rps: n as f64 / seconds.max(1e-9),
        p50_ms: pct(0.5),
        p90_ms: pct(0.9),
        p99_ms: pct(0.99),
        over_100ms: share(100_000),
        over_1s: share(1_000_000),
        errors: samples.iter().filter(|s| !s.ok).count(),
        statements_per_request: (!with_header.is_empty())
            .then(|| with_header.iter().map(|s| f64::from(s.statements)).sum::<f64>() / with_header.len() as f64),
        ..Default::default()
    }
}

fn p50_by_endpoint(targets: &[Target], samples: &[Sample]) -> BTreeMap<String, f64> {
    // The p50 of each identity, then the slowest identity's: identities see data of different
    // sizes (an EM session of 18 movies or of 10,000), and a p50 over all samples would be the
    // faster identity's, which answers more requests in the same time.
    let mut by: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
    for s in samples {
        let t = &targets[s.target as usize];
        by.entry((t.endpoint.clone(), t.identity.clone())).or_default().push(s.micros);
    }
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for ((endpoint, _), mut v) in by {
        v.sort_unstable();
        let p50 = v[(v.len() - 1) / 2] as f64 / 1e3;
        let e = out.entry(endpoint).or_insert(0.0);
        *e = e.max(p50);
    }
    out
}

/// User plus system CPU seconds of a process (all threads), from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return 0.0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 here; USER_HZ is 100.
    (ticks(11) + ticks(12)) / 100.0
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

// --- the report ------------------------------------------------------------------------------

fn render(
    args: &Args,
    rows: &[Row],
    endpoints: &BTreeMap<String, EndpointReport>,
    scales: &[ScaleReport],
    ratio_mix: &[(u32, usize, f64)],
    memory: &[String],
    elapsed: Duration,
) -> String {
    let mut o = String::new();
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .map(|c| c.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        o,
        "ispyb-rs benchmark {} — {} cores, load average {} — server pinned to CPU {}, pool {} connections, {} s per measurement{}",
        chrono::Local::now().format("%Y-%m-%d %H:%M"),
        cores,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        args.server_cpu,
        args.pool,
        args.duration.unwrap_or(if args.quick { 1.5 } else { 4.0 }),
        if args.quick { " (--quick)" } else { "" }
    );
    for s in scales {
        let _ = writeln!(
            o,
            "scale {} ({}): start-up to ready {:.0} ms (schema check included); mix of {} requests: {}",
            s.scale,
            s.database,
            s.startup_ms,
            s.targets.len(),
            s.endpoints.join(", ")
        );
        if !s.skipped.is_empty() {
            let _ = writeln!(o, "  not in the mix: {}", s.skipped.join("; "));
        }
        for note in &s.notes {
            let _ = writeln!(o, "  {note}");
        }
        if !s.scans.is_empty() {
            let _ = writeln!(o, "  full scans of tables over 10,000 rows in the mix's plans:");
            for scan in &s.scans {
                let _ = writeln!(o, "    {scan}");
            }
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| scale | clients | side    |   req/s |  p50 ms |  p90 ms |  p99 ms | >0.1 s |  >1 s | errors | server CPU | DB CPU | driver CPU | server RSS peak | SQL/req |"
    );
    let _ = writeln!(o, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let s = &r.stats;
        let _ = writeln!(
            o,
            "| {:>5} | {:>7} | {:<7} | {:>7.0} | {:>7.2} | {:>7.2} | {:>7.2} | {:>5.1}% | {:>4.1}% | {:>6} | {:>10} | {:>5.0}% | {:>9.0}% | {:>15} | {:>7} |",
            r.scale,
            r.clients,
            r.side,
            s.rps,
            s.p50_ms,
            s.p90_ms,
            s.p99_ms,
            s.over_100ms * 100.0,
            s.over_1s * 100.0,
            s.errors,
            s.server_cpu.map_or("-".to_string(), |c| format!("{:.0}%", c * 100.0)),
            s.db_cpu * 100.0,
            s.driver_cpu * 100.0,
            s.server_rss_peak_mb.map_or("-".to_string(), |m| format!("{m:.1} MB")),
            s.statements_per_request.map_or("-".to_string(), |n| format!("{n:.2}")),
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Ratios, same run:");
    let mix: Vec<String> = ratio_mix.iter().map(|(s, c, r)| format!("scale {s} × {c}: {r:.2}")).collect();
    let _ = writeln!(o, "(a) server / raw SQL throughput, whole mix: {}", mix.join(", "));
    let _ = writeln!(
        o,
        "    per endpoint below (each endpoint alone, its identities in turn): (a) at scale {} and 16 clients; (b) scale growth = p50 at scale {} / p50 at scale {}, 1 client, of the slowest identity; (c) SQL statements per request",
        args.large_scale, args.large_scale, args.small_scale
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| endpoint | (c) SQL/req | server req/s | raw SQL req/s | (a) server/raw | server CPU | DB CPU | p50 small ms | p50 large ms | (b) growth |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let order: Vec<&String> = scales.last().map(|s| s.endpoints.iter().collect()).unwrap_or_default();
    for name in order {
        let Some(e) = endpoints.get(name) else { continue };
        let a = e.server_rps.zip(e.raw_rps).map(|(s, r)| s / r.max(1e-9));
        let b = e.p50_large_ms.zip(e.p50_small_ms).map(|(l, s)| l / s.max(1e-9));
        let flag = |ok: bool| if ok { "" } else { " ✗" };
        let _ = writeln!(
            o,
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |",
            name,
            e.statements,
            e.server_rps.map_or("-".into(), |v| format!("{v:.0}")),
            e.raw_rps.map_or("-".into(), |v| format!("{v:.0}")),
            a.map_or("-".into(), |v| format!("{v:.2}{}", flag(v >= 0.8))),
            e.server_cpu.map_or("-".into(), |v| format!("{:.0}%", v * 100.0)),
            e.db_cpu.map_or("-".into(), |v| format!("{:.0}%", v * 100.0)),
            e.p50_small_ms.map_or("-".into(), |v| format!("{v:.2}")),
            e.p50_large_ms.map_or("-".into(), |v| format!("{v:.2}")),
            b.map_or("-".into(), |v| format!("{v:.2}{}", flag(v < 2.0))),
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Memory: {}", memory.join("; "));
    let _ = writeln!(o, "(targets: (a) ≥ 0.8, (b) < 2, ✗ marks a miss; total run {:.0} s)", elapsed.as_secs_f64());
    o
}
