//! The ISPyB REST API as a library: application state, the router with its middleware, the
//! OpenAPI document and the documentation pages, and `serve` with graceful shutdown.

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod files;
pub mod legacy;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod validate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderName, Request, header};
use tokio::sync::RwLock;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::auth::TokenKeys;
use crate::auth::plugins::AuthPlugins;
use crate::config::Config;
use crate::error::ApiError;

/// How long site options read from `AdminVar` are reused before being read again. Short, so
/// several server instances behind a load balancer agree within seconds after a change.
const OPTIONS_TTL: Duration = Duration::from_secs(5);

/// Everything a request may use; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: ispyb_db::Db,
    /// Settings.
    pub config: Arc<Config>,
    /// Token signing and verification.
    pub tokens: Arc<TokenKeys>,
    /// Enabled login plugins.
    pub auth: Arc<AuthPlugins>,
    /// Failed-login limits.
    pub login_limiter: Arc<auth::ratelimit::LoginLimiter>,
    options: Arc<RwLock<Option<(Instant, ispyb_db::options::Options)>>>,
}

impl AppState {
    /// Builds the state; fails when the token settings are missing or bad.
    pub fn new(db: ispyb_db::Db, config: Config, auth: AuthPlugins) -> Result<Self, config::ConfigError> {
        let tokens = TokenKeys::from_config(&config)?;
        let limiter = auth::ratelimit::LoginLimiter::new(
            config.login_max_failures,
            Duration::from_secs(config.login_window_secs),
        );
        Ok(Self {
            login_limiter: Arc::new(limiter),
            db,
            config: Arc::new(config),
            tokens: Arc::new(tokens),
            auth: Arc::new(auth),
            options: Arc::new(RwLock::new(None)),
        })
    }

    /// Site options (beamline groups, …), re-read from the database every few seconds;
    /// `fresh` forces a read (login, where `create_person_on_missing` matters at once).
    pub async fn options(&self, fresh: bool) -> Result<ispyb_db::options::Options, ApiError> {
        if !fresh
            && let Some((at, o)) = self.options.read().await.as_ref()
            && at.elapsed() < OPTIONS_TTL
        {
            return Ok(o.clone());
        }
        let loaded = ispyb_db::options::load(&self.db).await?;
        *self.options.write().await = Some((Instant::now(), loaded.clone()));
        Ok(loaded)
    }
}

/// The whole application: API routes under `API_ROOT`, probes, documentation, middleware.
pub fn app(state: AppState) -> Router {
    let (api, doc) = openapi::split(&state.config);
    let api_root = state.config.api_root.clone();
    let cors = state.config.cors;
    let request_id = HeaderName::from_static("x-request-id");
    let mut router = api
        .merge(openapi::docs_router(&api_root, doc))
        .route("/metrics", axum::routing::get(metrics::prometheus))
        .fallback(|| async { ApiError::NotFound("Not Found".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(legacy::LegacyPrefixes::new(&api_root), legacy::cors))
        .layer(CompressionLayer::new().gzip(true))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::Internal("handler panicked".into()))
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            // The span names the request id; the Authorization header is marked sensitive below
            // and the query string (which may carry a one-time token) is left out.
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("request", method = %req.method(), path = %legacy::mask_token_path(req.uri().path()), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]));
    if cors {
        // py-ISPyB: any origin, credentials allowed, origin echoed; outermost so errors carry it.
        router = router.layer(CorsLayer::very_permissive().max_age(Duration::from_secs(600)));
    }
    router
}

/// Serves until `shutdown` resolves; in-flight requests then finish before this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
