//! `ispyb serve`: check the configuration and the database, then serve until SIGTERM/SIGINT.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;
use ispyb_api::auth::plugins::AuthPlugins;
use ispyb_api::config::Config;
use secrecy::ExposeSecret;

/// Options of `ispyb serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides ISPYB_BIND).
    #[arg(long)]
    pub bind: Option<String>,
    /// Start even when the schema check finds gaps (routes needing them will fail).
    #[arg(long)]
    pub skip_schema_check: bool,
}

/// Runs the server.
pub async fn run(config_file: Option<&Path>, args: ServeArgs) -> anyhow::Result<()> {
    let mut config = Config::load(config_file)?;
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    crate::logging::init(config.log_format);
    config.secret_key()?;
    let auth = match &config.auth_config {
        Some(path) => AuthPlugins::from_file(path)?,
        None => bail!("missing setting AUTH_CONFIG: path of the auth.yml that lists the login plugins"),
    };
    if auth.has_insecure() {
        if !config.allow_dummy_auth {
            bail!(
                "AUTH_CONFIG enables the dummy plugin, which accepts any password; set ISPYB_ALLOW_DUMMY_AUTH=true only for tests"
            );
        }
        tracing::warn!("the dummy login plugin is enabled: anyone can log in as anyone");
    }
    let db = connect(&config).await?;
    check_schema(&db, args.skip_schema_check).await?;
    serve_with(db, config, auth).await
}

/// Connects with the configured pool size; an unreachable server is one clear line.
pub async fn connect(config: &Config) -> anyhow::Result<ispyb_db::Db> {
    let url = config.database_url()?;
    let settings = ispyb_db::PoolSettings { max_connections: config.database_pool, ..Default::default() };
    ispyb_db::connect(url.expose_secret(), &settings).await.context("cannot connect to the database (DATABASE_URL)")
}

/// Runs the schema check and refuses to start on gaps.
pub async fn check_schema(db: &ispyb_db::Db, skip: bool) -> anyhow::Result<()> {
    let report = ispyb_db::schema::check(db).await.context("schema check")?;
    tracing::info!(
        database = %report.database,
        flavour = %report.flavour,
        schema_version = report.schema_version.as_deref().unwrap_or("unknown"),
        "schema checked"
    );
    if !report.is_ok() {
        let first = &report.gaps[0];
        if skip {
            tracing::warn!(gaps = report.gaps.len(), first = %first, "schema check found gaps; starting anyway");
        } else {
            bail!(
                "schema check failed with {} gap(s), first: {first} (run `ispyb db check` for all)",
                report.gaps.len()
            );
        }
    }
    Ok(())
}

/// Binds and serves until a termination signal; in-flight requests finish first.
pub async fn serve_with(db: ispyb_db::Db, config: Config, auth: AuthPlugins) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let api_root = config.api_root.clone();
    let state = ispyb_api::AppState::new(db.clone(), config, auth)?;
    let listener =
        tokio::net::TcpListener::bind(&bind).await.with_context(|| format!("cannot listen on {bind} (ISPYB_BIND)"))?;
    tracing::info!(%bind, %api_root, "serving; docs at /docs and /redoc");
    ispyb_api::serve(listener, state, shutdown_signal()).await?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
