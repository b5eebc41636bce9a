//! `ispyb db …`: create a schema, fill it with synthetic data, check a database.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use ispyb_api::config::Config;

/// Database commands; all use DATABASE_URL (or SQLALCHEMY_DATABASE_URI).
#[derive(Subcommand)]
pub enum DbCommand {
    /// Create the tables the server uses, with their keys and indexes, in an empty database.
    Init {
        /// Load a real ISPyB schema dump instead (a checkout of ispyb-database with
        /// `ispyb/` and `dls/` folders).
        #[arg(long)]
        from_dump: Option<PathBuf>,
        /// Flavour of the dump to load.
        #[arg(long, value_enum, default_value = "ispyb")]
        flavour: FlavourArg,
        /// Also load the dump's test data.
        #[arg(long)]
        with_data: bool,
    },
    /// Fill the database with a synthetic facility (1,000 data collections per unit of scale).
    Seed {
        /// Size: 1 is a demo, 1000 gives one million data collections.
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// Random seed, for reproducible data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Check that the database has every table and column the server needs.
    Check,
}

/// Schema flavours.
#[derive(Clone, Copy, ValueEnum)]
pub enum FlavourArg {
    /// ispyb/ispyb-database (ESRF heritage, py-ISPyB's).
    Ispyb,
    /// DiamondLightSource/ispyb-database.
    Dls,
}

/// Runs a database command.
pub async fn run(config_file: Option<&Path>, cmd: DbCommand) -> anyhow::Result<()> {
    let config = Config::load(config_file)?;
    crate::logging::init(config.log_format);
    let db = crate::serve::connect(&config).await?;
    match cmd {
        DbCommand::Init { from_dump, flavour, with_data } => {
            let tables = ispyb_db::schema::count_tables(&db).await?;
            if tables > 0 {
                bail!("the database already has {tables} tables; `db init` only fills an empty database");
            }
            match from_dump {
                Some(dir) => {
                    let flavour = match flavour {
                        FlavourArg::Ispyb => ispyb_db::Flavour::Ispyb,
                        FlavourArg::Dls => ispyb_db::Flavour::Dls,
                    };
                    let files = ispyb_db::dump::schema_files(&dir, flavour, with_data, true);
                    if let Some(missing) = files.iter().find(|f| !f.is_file()) {
                        bail!("schema file {} does not exist", missing.display());
                    }
                    ispyb_db::dump::load_files(&db, &files).await.context("loading the schema dump")?;
                }
                None => ispyb_db::schema::create(&db).await.context("creating the schema")?,
            }
            println!("schema created");
        }
        DbCommand::Seed { scale, seed } => {
            if scale == 0 {
                bail!("--scale must be at least 1");
            }
            let started = Instant::now();
            let progress = |stage: &str, done: u64, total: u64| {
                let pct = (done * 100).checked_div(total).unwrap_or(100);
                eprint!("\r\x1b[2K{stage}: {done}/{total} ({pct}%)");
                let _ = std::io::stderr().flush();
            };
            let summary = ispyb_db::seed::run(&db, &ispyb_db::seed::SeedOptions { scale, seed }, &progress).await?;
            eprintln!();
            println!("{}", serde_json::to_string_pretty(&summary)?);
            println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
        }
        DbCommand::Check => {
            let report = ispyb_db::schema::check(&db).await?;
            println!(
                "database {}: flavour {}, schemaVersion {}",
                report.database,
                report.flavour,
                report.schema_version.as_deref().unwrap_or("unknown")
            );
            // Indexes that keep lists fast at facility size: advice only, the exit status is the
            // schema check's.
            for line in ispyb_db::access::index_advice(&db).await? {
                println!("advice: {line}");
            }
            // Every instance's connections keep prepared statements on the server, under one
            // limit for all clients (docs/performance.md).
            let budget = ispyb_db::StatementBudget::of(&db).await?;
            println!(
                "prepared statements: up to {} per connection x {} connections per instance; max_prepared_stmt_count {} allows {} such instances",
                budget.per_connection,
                budget.connections,
                budget.max_prepared,
                budget.instances()
            );
            if budget.instances() < 2 {
                println!(
                    "advice: max_prepared_stmt_count: {} is too low for two instances of {} connections keeping {} statements each; raise it, or lower ISPYB_DATABASE_POOL or statement-cache-capacity in DATABASE_URL",
                    budget.max_prepared, budget.connections, budget.per_connection
                );
            }
            if report.is_ok() {
                println!("schema check passed: every table and column the server needs is present");
            } else {
                for gap in &report.gaps {
                    println!("gap: {gap}");
                }
                bail!("schema check failed with {} gap(s), first: {}", report.gaps.len(), report.gaps[0]);
            }
        }
    }
    Ok(())
}
