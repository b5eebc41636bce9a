//! Log set-up: `RUST_LOG` filters, text or JSON lines on stderr.

use ispyb_api::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once.
pub fn init(format: LogFormat) {
    // sqlx logs every statement at debug, with bound values; keep it at warn unless asked.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
