//! Every route, registered once: the same registration produces the axum router and the
//! OpenAPI document, so a route without documentation cannot exist.

pub mod auth;
pub mod containers;
pub mod data;
pub mod datacollections;
pub mod dewars;
pub mod em;
pub mod events;
pub mod health;
pub mod labcontacts;
pub mod mapping;
pub mod persons;
pub mod processings;
pub mod proposals;
pub mod proteins;
pub mod samples;
pub mod sessions;
pub mod shippings;
pub mod stats;
pub mod user;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Routes served under `API_ROOT`.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(user::router())
        .merge(proposals::router())
        .merge(sessions::router())
        .merge(persons::router())
        .merge(labcontacts::router())
        .merge(shippings::router())
        .merge(dewars::router())
        .merge(containers::router())
        .merge(events::router())
        .merge(datacollections::router())
        .merge(processings::router())
        .merge(stats::router())
        .merge(data::router())
        .merge(mapping::router())
        .merge(proteins::router())
        .merge(samples::router())
        .merge(em::router())
}

/// Proposal filters and paging shared by lists of proposal-owned objects.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalQuery {
    /// Proposal name, e.g. `MX1`.
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Proposal id.
    #[serde(rename = "proposalId")]
    #[param(rename = "proposalId", maximum = 4294967295_u64)]
    pub proposal_id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

impl ProposalQuery {
    /// 422 when the proposal name is malformed.
    pub fn check(&self) -> Result<(), crate::error::ApiError> {
        check_proposal_name(self.proposal.as_deref())
    }
}

/// 422 unless `name` looks like a proposal name (`^(\w|-)+\d+$`).
pub fn check_proposal_name(name: Option<&str>) -> Result<(), crate::error::ApiError> {
    match name {
        Some(n) if !sessions::is_proposal_name(n) => Err(crate::error::ApiError::invalid(
            &["query", "proposal"],
            "invalid proposal name",
            "value_error.str.regex",
        )),
        _ => Ok(()),
    }
}
