//! Every route, registered once: the same registration produces the axum router and the
//! OpenAPI document, so a route without documentation cannot exist.

pub mod auth;
pub mod health;
pub mod proposals;
pub mod sessions;
pub mod user;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Routes served under `API_ROOT`.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(auth::router()).merge(user::router()).merge(proposals::router()).merge(sessions::router())
}
