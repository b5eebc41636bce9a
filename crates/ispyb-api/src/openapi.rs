//! The OpenAPI 3.1 document (from the route registration), Swagger UI at `/docs` and Redoc at
//! `/redoc`, both served from the binary so sites without internet access have them.

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{RefOr, Response, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;
use crate::config::Config;
use crate::error::ErrorBody;

/// Title, version and shared components of the document.
#[derive(OpenApi)]
#[openapi(
    info(title = "ISPyB API", description = "ispyb-rs: py-ISPyB compatible REST API for ISPyB databases"),
    components(schemas(ErrorBody, crate::error::FieldError))
)]
pub struct ApiDoc;

/// The API router (routes under `API_ROOT`, probes at the root) and its OpenAPI document.
pub fn split(config: &Config) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(&config.api_root, crate::routes::api())
        .merge(crate::legacy::mount(config))
        .merge(crate::routes::health::router())
        .split_for_parts();
    complete(&mut doc, config);
    (router, doc)
}

/// The document as `ispyb openapi` prints it.
pub fn document(config: &Config) -> utoipa::openapi::OpenApi {
    split(config).1
}

/// Adds what every operation shares: the bearer scheme, the error responses a client must
/// expect (so they are documented, not surprises) and the configured page-size maximum.
fn complete(doc: &mut utoipa::openapi::OpenApi, config: &Config) {
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme("HTTPBearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    let error = |desc: &str| -> RefOr<Response> {
        ResponseBuilder::new()
            .description(desc)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("HTTPError")))
                    .build(),
            )
            .build()
            .into()
    };
    for item in doc.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut op.responses.responses;
            if secured {
                responses.entry("401".into()).or_insert_with(|| error("Missing, invalid or expired token"));
                responses.entry("403".into()).or_insert_with(|| error("Not allowed"));
            }
            if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || op.request_body.is_some() {
                responses.entry("422".into()).or_insert_with(|| error("Invalid parameters or body"));
            }
            let in_path = |p: &RefOr<utoipa::openapi::path::Parameter>| matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Path);
            if op.parameters.as_ref().is_some_and(|p| p.iter().any(in_path)) {
                responses.entry("404".into()).or_insert_with(|| error("Not found, or not visible to the caller"));
            }
            responses.entry("500".into()).or_insert_with(|| error("Internal error"));
            responses.entry("503".into()).or_insert_with(|| error("Database unavailable"));
            for p in op.parameters.iter_mut().flatten() {
                if let RefOr::T(p) = p
                    && p.name == "limit"
                    && let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(o))) = p.schema.as_mut()
                {
                    o.maximum = Some(utoipa::Number::UInt(config.max_limit as usize));
                }
            }
        }
    }
}

const REDOC_JS: &str = include_str!("../assets/redoc/redoc.standalone.js");

/// Swagger UI at `/docs`, Redoc at `/redoc` and the document at `{API_ROOT}/openapi.json`.
pub fn docs_router(api_root: &str, doc: utoipa::openapi::OpenApi) -> Router<AppState> {
    let spec_url = format!("{api_root}/openapi.json");
    let redoc_page = format!(
        "<!DOCTYPE html><html><head><title>ISPyB API</title><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body><redoc spec-url=\"{spec_url}\"></redoc><script src=\"/redoc/redoc.standalone.js\"></script></body></html>"
    );
    Router::new()
        .merge(SwaggerUi::new("/docs").url(spec_url, doc))
        .route("/redoc", get(move || std::future::ready(Html(redoc_page.clone()))))
        .route(
            "/redoc/redoc.standalone.js",
            get(|| async {
                ([(header::CONTENT_TYPE, "application/javascript; charset=utf-8")], REDOC_JS).into_response()
            }),
        )
}
