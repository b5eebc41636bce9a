//! Logistics lists: shipments (one row per container), dewars, samples and lab contacts of a
//! proposal, with Java's keys.

use axum::Json;
use axum::extract::State;
use ispyb_db::legacy::logistics::{self as db_logistics, SamplesOf};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::proposals::ProposalPath;
use super::{LegacyCaller, PROPOSAL_DOC, TOKEN_DOC, ids};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::ApiPath;

/// Logistics routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(shipments))
        .routes(routes!(shipment_dewars))
        .routes(routes!(dewars))
        .routes(routes!(session_dewars))
        .routes(routes!(samples))
        .routes(routes!(samples_of_containers))
        .routes(routes!(samples_of_dewars))
        .routes(routes!(samples_of_sessions))
        .routes(routes!(samples_of_shipments))
        .routes(routes!(lab_contacts))
}

/// The shipments of the proposal: `Shipping_*`, `Dewar_*` and `Container_*` keys, one row per
/// container, with `sampleCount` and `stockSolutionCount`.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/shipping/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_shipments",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC)),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn shipments(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = db_logistics::shipments(&state.db, &caller.access, id, None, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// `{proposal}` and `{shippingId}`.
#[derive(Debug, Deserialize)]
pub struct ShipmentPath {
    /// Name or id.
    pub proposal: String,
    /// Shipment id.
    #[serde(rename = "shippingId")]
    pub shipping_id: u32,
}

/// One shipment of the proposal, in the shape of the shipment list.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/shipping/{shippingId}/dewar/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_shipment_dewars",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("shippingId" = u32, Path, description = "Shipment id")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn shipment_dewars(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ShipmentPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows =
        db_logistics::shipments(&state.db, &caller.access, id, Some(path.shipping_id), caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// The dewars of the proposal (`v_dewar_summary` rows, one per container, with `sampleCount`).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/dewar/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_dewars",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC)),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn dewars(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = db_logistics::dewars(&state.db, &caller.access, id, None, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// `{proposal}` and `{sessionId}`.
#[derive(Debug, Deserialize)]
pub struct SessionPath {
    /// Name or id.
    pub proposal: String,
    /// Session id.
    #[serde(rename = "sessionId")]
    pub session_id: u32,
}

/// The dewars of the proposal's shipments for a session.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/dewar/session/{sessionId}/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_session_dewars",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn session_dewars(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = db_logistics::dewars(&state.db, &caller.access, id, Some(path.session_id), caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// Every sample of the proposal (`v_mx_sample` rows, one per sample).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/sample/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_samples",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC)),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn samples(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = db_logistics::samples(&state.db, &caller.access, id, &SamplesOf::Proposal, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// `{proposal}` and a comma-separated id list, whatever its name.
#[derive(Debug, Deserialize)]
pub struct IdsPath {
    /// Name or id.
    pub proposal: String,
    /// Ids.
    #[serde(alias = "containerId", alias = "dewarId", alias = "sessionId", alias = "shippingId")]
    pub ids: String,
}

async fn samples_of(
    state: &AppState,
    caller: &LegacyCaller,
    path: &IdsPath,
    of: fn(Vec<u32>) -> SamplesOf,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(state, &path.proposal).await?;
    let wanted = of(ids(&path.ids, "ids")?);
    let rows = db_logistics::samples(&state.db, &caller.access, id, &wanted, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

macro_rules! samples_route {
    ($name:ident, $path:literal, $param:literal, $op:literal, $of:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "Legacy (Java ISPyB)", operation_id = $op,
            params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
                ($param = String, Path, description = "Ids, comma-separated")),
            responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
                (status = 403, body = crate::error::ErrorBody)))]
        pub async fn $name(
            caller: LegacyCaller,
            State(state): State<AppState>,
            ApiPath(path): ApiPath<IdsPath>,
        ) -> ApiResult<Json<Value>> {
            samples_of(&state, &caller, &path, $of).await
        }
    };
}

samples_route!(
    samples_of_containers,
    "/{token}/proposal/{proposal}/mx/sample/containerid/{containerId}/list",
    "containerId",
    "legacy_samples_of_containers",
    SamplesOf::Containers,
    "The samples of these containers of the proposal."
);
samples_route!(
    samples_of_dewars,
    "/{token}/proposal/{proposal}/mx/sample/dewarid/{dewarId}/list",
    "dewarId",
    "legacy_samples_of_dewars",
    SamplesOf::Dewars,
    "The samples of these dewars of the proposal."
);
samples_route!(
    samples_of_sessions,
    "/{token}/proposal/{proposal}/mx/sample/sessionid/{sessionId}/list",
    "sessionId",
    "legacy_samples_of_sessions",
    SamplesOf::Sessions,
    "The samples of the proposal collected in these sessions."
);
samples_route!(
    samples_of_shipments,
    "/{token}/proposal/{proposal}/mx/sample/shipmentid/{shippingId}/list",
    "shippingId",
    "legacy_samples_of_shipments",
    SamplesOf::Shipments,
    "The samples of these shipments of the proposal."
);

/// The lab contacts of the proposal (`LabContact3VO`, with `personVO`; never a login).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/shipping/labcontact/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_lab_contacts",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC)),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn lab_contacts(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = ispyb_db::legacy::proposals::lab_contacts(&state.db, id, caller.mount.dates()).await?;
    Ok(Json(Value::Array(rows)))
}
