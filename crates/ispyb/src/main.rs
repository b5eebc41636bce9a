//! The `ispyb` command: serve the API, run a self-contained demo, manage databases and print
//! the OpenAPI document. `main` only parses and dispatches; each command has its own module.

mod db;
mod demo;
mod embedded;
mod logging;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ISPyB REST server (py-ISPyB compatible) for MariaDB ISPyB databases.
#[derive(Parser)]
#[command(name = "ispyb", version, about)]
struct Cli {
    /// YAML configuration file (keys as the environment variables: API_ROOT, SECRET_KEY, …).
    #[arg(long, global = true, env = "ISPYB_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (needs DATABASE_URL and SECRET_KEY).
    Serve(serve::ServeArgs),
    /// Start a private MariaDB with demo data and serve on 127.0.0.1:8000 with the dummy login.
    Demo(demo::DemoArgs),
    /// Manage a database: create the schema, fill it with synthetic data, check it.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Print the OpenAPI document (JSON).
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(cli.config.as_deref(), args).await,
        Command::Demo(args) => demo::run(cli.config.as_deref(), args).await,
        Command::Db(cmd) => db::run(cli.config.as_deref(), cmd).await,
        Command::Openapi => print_openapi(cli.config.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, the whole cause chain, no backtrace.
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn print_openapi(config: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = ispyb_api::config::Config::load(config)?;
    let doc = ispyb_api::openapi::document(&config);
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
