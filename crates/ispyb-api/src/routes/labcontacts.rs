//! Lab contacts: `GET/POST /labcontacts`, `GET/PATCH /labcontacts/{labContactId}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ispyb_db::labcontacts::{self, LabContactFilter, LabContactRow};
use ispyb_db::write::{Changes, Patch};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, PageParams};
use crate::routes::ProposalQuery;
use crate::validate::Checks;

/// Lab contact routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_lab_contacts, create_lab_contact))
        .routes(routes!(get_lab_contact, update_lab_contact))
}

/// Path of one lab contact.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LabContactPath {
    /// `LabContact.labContactId`.
    #[serde(rename = "labContactId")]
    #[param(rename = "labContactId", maximum = 4294967295_u64)]
    pub lab_contact_id: u32,
}

/// Body of `POST /labcontacts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = LabContactCreate)]
pub struct NewLabContact {
    /// Proposal the contact belongs to.
    #[serde(rename = "proposalId")]
    pub proposal_id: u32,
    /// Name of the contact card, unique within the proposal.
    #[serde(rename = "cardName")]
    #[schema(max_length = 40, min_length = 1)]
    pub card_name: String,
    /// Courier company.
    #[serde(rename = "defaultCourrierCompany")]
    #[schema(max_length = 45)]
    pub default_courrier_company: Option<String>,
    /// Courier account.
    #[serde(rename = "courierAccount")]
    #[schema(max_length = 45)]
    pub courier_account: Option<String>,
    /// Billing reference.
    #[serde(rename = "billingReference")]
    #[schema(max_length = 45)]
    pub billing_reference: Option<String>,
    /// Average customs value of a dewar.
    #[serde(rename = "dewarAvgCustomsValue")]
    pub dewar_avg_customs_value: Option<u32>,
    /// Average transport value of a dewar.
    #[serde(rename = "dewarAvgTransportValue")]
    pub dewar_avg_transport_value: Option<u32>,
    /// The contact person.
    #[serde(rename = "Person")]
    pub person: NewContactPerson,
}

/// The person of a new lab contact.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PersonCreate)]
pub struct NewContactPerson {
    /// Given name.
    #[serde(rename = "givenName")]
    #[schema(max_length = 45, min_length = 1)]
    pub given_name: String,
    /// Family name.
    #[serde(rename = "familyName")]
    #[schema(max_length = 100, min_length = 1)]
    pub family_name: String,
    /// E-mail address.
    #[serde(rename = "emailAddress")]
    #[schema(max_length = 60)]
    pub email_address: Option<String>,
    /// Phone number.
    #[serde(rename = "phoneNumber")]
    #[schema(max_length = 45)]
    pub phone_number: Option<String>,
    /// Laboratory of the person.
    #[serde(rename = "Laboratory")]
    pub laboratory: Option<NewLaboratory>,
}

/// A laboratory.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = LaboratoryCreate)]
pub struct NewLaboratory {
    /// Name.
    #[schema(max_length = 45, min_length = 1)]
    pub name: String,
    /// Postal address.
    #[schema(max_length = 255, min_length = 1)]
    pub address: String,
    /// City.
    #[schema(max_length = 45, min_length = 1)]
    pub city: String,
    /// Country.
    #[schema(max_length = 45, min_length = 1)]
    pub country: String,
    /// Web site.
    #[schema(max_length = 255)]
    pub url: Option<String>,
    /// Identifier in the user portal.
    #[serde(rename = "laboratoryExtPk")]
    pub laboratory_ext_pk: Option<i32>,
}

/// Body of `PATCH /labcontacts/{labContactId}`: any subset, nested ones too.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = LabContactUpdate)]
pub struct LabContactUpdate {
    /// Name of the contact card.
    #[serde(rename = "cardName", default)]
    #[schema(value_type = Option<String>, max_length = 40, min_length = 1)]
    pub card_name: Patch<String>,
    /// Courier company.
    #[serde(rename = "defaultCourrierCompany", default)]
    #[schema(value_type = Option<String>, max_length = 45)]
    pub default_courrier_company: Patch<String>,
    /// Courier account.
    #[serde(rename = "courierAccount", default)]
    #[schema(value_type = Option<String>, max_length = 45)]
    pub courier_account: Patch<String>,
    /// Billing reference.
    #[serde(rename = "billingReference", default)]
    #[schema(value_type = Option<String>, max_length = 45)]
    pub billing_reference: Patch<String>,
    /// Average customs value of a dewar.
    #[serde(rename = "dewarAvgCustomsValue", default)]
    #[schema(value_type = Option<u32>)]
    pub dewar_avg_customs_value: Patch<u32>,
    /// Average transport value of a dewar.
    #[serde(rename = "dewarAvgTransportValue", default)]
    #[schema(value_type = Option<u32>)]
    pub dewar_avg_transport_value: Patch<u32>,
    /// The contact person.
    #[serde(rename = "Person", default)]
    pub person: Option<ContactPersonUpdate>,
}

/// Changes to a contact person.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ContactPersonUpdate {
    /// Given name.
    #[serde(rename = "givenName", default)]
    #[schema(value_type = Option<String>, max_length = 45, min_length = 1)]
    pub given_name: Patch<String>,
    /// Family name.
    #[serde(rename = "familyName", default)]
    #[schema(value_type = Option<String>, max_length = 100, min_length = 1)]
    pub family_name: Patch<String>,
    /// E-mail address.
    #[serde(rename = "emailAddress", default)]
    #[schema(value_type = Option<String>, max_length = 60)]
    pub email_address: Patch<String>,
    /// Phone number.
    #[serde(rename = "phoneNumber", default)]
    #[schema(value_type = Option<String>, max_length = 45)]
    pub phone_number: Patch<String>,
    /// Laboratory (created when the person has none: then name, address, city and country
    /// are required).
    #[serde(rename = "Laboratory", default)]
    pub laboratory: Option<LaboratoryUpdate>,
}

/// Changes to a laboratory.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LaboratoryUpdate {
    /// Name.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 45)]
    pub name: Patch<String>,
    /// Postal address.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub address: Patch<String>,
    /// City.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 45)]
    pub city: Patch<String>,
    /// Country.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 45)]
    pub country: Patch<String>,
    /// Web site.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub url: Patch<String>,
}

/// Lists the lab contacts of the proposals the caller may see.
#[utoipa::path(get, path = "/labcontacts", tag = "Lab contacts", operation_id = "get_lab_contacts",
    params(ProposalQuery), responses((status = 200, body = ispyb_db::Paged<LabContactRow>)), security(("HTTPBearer" = [])))]
pub async fn get_lab_contacts(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<ProposalQuery>,
) -> ApiResult<Json<ispyb_db::Paged<LabContactRow>>> {
    query.check()?;
    let options = state.options(false).await?;
    let filter = LabContactFilter { lab_contact_id: None, proposal: query.proposal, proposal_id: query.proposal_id };
    Ok(Json(labcontacts::list(&state.db, &user.access(&options), &filter, page).await?))
}

/// One lab contact; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/labcontacts/{labContactId}", tag = "Lab contacts", operation_id = "get_lab_contact",
    params(LabContactPath), responses((status = 200, body = LabContactRow)), security(("HTTPBearer" = [])))]
pub async fn get_lab_contact(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<LabContactPath>,
) -> ApiResult<Json<LabContactRow>> {
    let options = state.options(false).await?;
    let row = labcontacts::find(&state.db, &user.access(&options), path.lab_contact_id).await?;
    row.map(Json).ok_or_else(|| ApiError::not_found("Lab contact"))
}

/// Creates a lab contact with its person and laboratory (201). The proposal must be visible
/// to the caller; nothing is written otherwise, and nothing is left when a step fails.
#[utoipa::path(post, path = "/labcontacts", tag = "Lab contacts", operation_id = "create_lab_contact",
    request_body = NewLabContact, responses((status = 201, body = LabContactRow)), security(("HTTPBearer" = [])))]
pub async fn create_lab_contact(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewLabContact>,
) -> ApiResult<(StatusCode, Json<LabContactRow>)> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    if !access.can_see_proposal(&state.db, body.proposal_id).await? {
        return Err(ApiError::NotFound("No such proposal".into()));
    }
    let mut c = Checks::default();
    c.text(&["cardName"], Some(&body.card_name), 40, true);
    c.text(&["defaultCourrierCompany"], body.default_courrier_company.as_deref(), 45, false);
    c.text(&["courierAccount"], body.courier_account.as_deref(), 45, false);
    c.text(&["billingReference"], body.billing_reference.as_deref(), 45, false);
    let p = &body.person;
    c.text(&["Person", "givenName"], Some(&p.given_name), 45, true);
    c.text(&["Person", "familyName"], Some(&p.family_name), 100, true);
    c.text(&["Person", "emailAddress"], p.email_address.as_deref(), 60, false);
    c.text(&["Person", "phoneNumber"], p.phone_number.as_deref(), 45, false);
    if let Some(l) = &p.laboratory {
        c.text(&["Person", "Laboratory", "name"], Some(&l.name), 45, true);
        c.text(&["Person", "Laboratory", "address"], Some(&l.address), 255, true);
        c.text(&["Person", "Laboratory", "city"], Some(&l.city), 45, true);
        c.text(&["Person", "Laboratory", "country"], Some(&l.country), 45, true);
        c.text(&["Person", "Laboratory", "url"], l.url.as_deref(), 255, false);
    }
    c.finish()?;

    let lab = p.laboratory.as_ref().map(|l| {
        let mut ch = Changes::default();
        ch.set("name", l.name.clone());
        ch.set("address", l.address.clone());
        ch.set("city", l.city.clone());
        ch.set("country", l.country.clone());
        ch.add("url", &opt(&l.url));
        ch.add("laboratoryExtPk", &opt(&l.laboratory_ext_pk.map(i64::from)));
        ch
    });
    let mut person = Changes::default();
    person.set("givenName", p.given_name.clone());
    person.set("familyName", p.family_name.clone());
    person.add("emailAddress", &opt(&p.email_address));
    person.add("phoneNumber", &opt(&p.phone_number));
    let mut contact = Changes::default();
    contact.set("proposalId", body.proposal_id);
    contact.set("cardName", body.card_name.clone());
    contact.add("defaultCourrierCompany", &opt(&body.default_courrier_company));
    contact.add("courierAccount", &opt(&body.courier_account));
    contact.add("billingReference", &opt(&body.billing_reference));
    contact.add("dewarAvgCustomsValue", &opt(&body.dewar_avg_customs_value));
    contact.add("dewarAvgTransportValue", &opt(&body.dewar_avg_transport_value));
    let id = match labcontacts::create(&state.db, lab.as_ref(), &person, &contact).await {
        Ok(id) => id,
        Err(e) if ispyb_db::write::is_duplicate(&e) => {
            return Err(ApiError::invalid(
                &["body", "cardName"],
                "a lab contact with this card name already exists in the proposal",
                "value_error.unique",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let row = labcontacts::find(&state.db, &access, id)
        .await?
        .ok_or_else(|| ApiError::Internal("created lab contact not found".into()))?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// Updates the fields sent (nested person and laboratory fields too).
#[utoipa::path(patch, path = "/labcontacts/{labContactId}", tag = "Lab contacts", operation_id = "update_lab_contact",
    params(LabContactPath), request_body = LabContactUpdate, responses((status = 200, body = LabContactRow)), security(("HTTPBearer" = [])))]
pub async fn update_lab_contact(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<LabContactPath>,
    ApiJson(body): ApiJson<LabContactUpdate>,
) -> ApiResult<Json<LabContactRow>> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    let existing = labcontacts::find(&state.db, &access, path.lab_contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Lab contact"))?;
    let mut c = Checks::default();
    c.patch_text(&["cardName"], &body.card_name, 40, true);
    c.patch_text(&["defaultCourrierCompany"], &body.default_courrier_company, 45, false);
    c.patch_text(&["courierAccount"], &body.courier_account, 45, false);
    c.patch_text(&["billingReference"], &body.billing_reference, 45, false);
    for (field, v) in [
        ("dewarAvgCustomsValue", &body.dewar_avg_customs_value),
        ("dewarAvgTransportValue", &body.dewar_avg_transport_value),
    ] {
        if matches!(v, Patch::Null) {
            c.fail(&[field], "none is not an allowed value", "type_error.none.not_allowed");
        }
    }
    let mut person = Changes::default();
    let mut lab = None;
    if let Some(p) = &body.person {
        c.patch_text(&["Person", "givenName"], &p.given_name, 45, true);
        c.patch_text(&["Person", "familyName"], &p.family_name, 100, true);
        c.patch_text(&["Person", "emailAddress"], &p.email_address, 60, false);
        c.patch_text(&["Person", "phoneNumber"], &p.phone_number, 45, false);
        person.add("givenName", &p.given_name);
        person.add("familyName", &p.family_name);
        person.add("emailAddress", &p.email_address);
        person.add("phoneNumber", &p.phone_number);
        if let Some(l) = &p.laboratory {
            // A new laboratory needs its four descriptive fields.
            let creating = existing.person.as_ref().is_none_or(|p| p.laboratory.is_none());
            for (field, v, max) in [
                ("name", &l.name, 45),
                ("address", &l.address, 255),
                ("city", &l.city, 45),
                ("country", &l.country, 45),
            ] {
                if creating && v.value().is_none() {
                    c.fail(
                        &["Person", "Laboratory", field],
                        "field required (the person has no laboratory yet)",
                        "value_error.missing",
                    );
                } else {
                    c.patch_text(&["Person", "Laboratory", field], v, max, false);
                }
            }
            c.patch_text(&["Person", "Laboratory", "url"], &l.url, 255, false);
            let mut ch = Changes::default();
            ch.add("name", &l.name);
            ch.add("address", &l.address);
            ch.add("city", &l.city);
            ch.add("country", &l.country);
            ch.add("url", &l.url);
            lab = Some(ch);
        }
    }
    c.finish()?;
    let mut contact = Changes::default();
    contact.add("cardName", &body.card_name);
    contact.add("defaultCourrierCompany", &body.default_courrier_company);
    contact.add("courierAccount", &body.courier_account);
    contact.add("billingReference", &body.billing_reference);
    contact.add("dewarAvgCustomsValue", &body.dewar_avg_customs_value);
    contact.add("dewarAvgTransportValue", &body.dewar_avg_transport_value);
    match labcontacts::update(&state.db, path.lab_contact_id, lab.as_ref(), &person, &contact).await {
        Ok(()) => {}
        Err(e) if ispyb_db::write::is_duplicate(&e) => {
            return Err(ApiError::invalid(
                &["body", "cardName"],
                "a lab contact with this card name already exists in the proposal",
                "value_error.unique",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let row = labcontacts::find(&state.db, &access, path.lab_contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Lab contact"))?;
    Ok(Json(row))
}

/// An optional request value as a patch (absent when `None`).
pub(crate) fn opt<T: Clone>(v: &Option<T>) -> Patch<T> {
    v.clone().map_or(Patch::Absent, Patch::Value)
}
