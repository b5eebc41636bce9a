//! Log set-up: `RUST_LOG` filters, text or JSON lines on stderr, and the SQL statement counter
//! of `/metrics` and `x-sql-statements`.

use ispyb_api::config::LogFormat;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// Installs the global subscriber once.
pub fn init(format: LogFormat) {
    // sqlx logs every statement at debug, with bound values; keep it at warn unless asked.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let output = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr).boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().compact().with_writer(std::io::stderr).boxed(),
    };
    // Each layer has its own filter: the statement counter sees sqlx's debug events, the log
    // output still only what RUST_LOG lets through.
    let _ =
        tracing_subscriber::registry().with(output.with_filter(filter)).with(ispyb_api::metrics::layer()).try_init();
}
