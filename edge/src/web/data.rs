//! The data API: the business's own systems (its shop backend, ERP, a nightly job) keep
//! customer profiles and orders current. `PUT /v1/{tenant}/customers/{id}`,
//! `PUT /v1/{tenant}/customers/{id}/orders/{order}`, `DELETE /v1/{tenant}/customers/{id}`, and
//! for a data subject's access request `GET /v1/{tenant}/customers/{id}/export`.
//!
//! Write-only by default: a key reads nothing back unless the tenant marked it `may_export`, so
//! a key leaked from the systems that write customers can overwrite or erase them but never
//! read them (docs/security.md, "The data API"). Every
//! call carries one of the tenant's data keys (`Authorization: Bearer sbk_…`), compared by
//! SHA-256 with those in its file; is limited per tenant ([`crate::web::Api::limits`]); and is
//! checked field by field before anything is written.

use super::webchat::Api;
use super::{ApiError, RequestId};
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use switchboard_core::domain::{Customer, CustomerId, Order};
use switchboard_core::keys::data_key;
use switchboard_engine::customers::{FieldError, check_customer, check_order};
use switchboard_engine::tenant::Tenant;
use tracing::Instrument;

/// The limit bucket of these routes.
const ROUTE: &str = "data_api";

/// The tenant, once the request shows one of its keys and is within its limit.
async fn authorised(api: &Api, tenant: &str, headers: &HeaderMap) -> Result<Arc<Tenant>, ApiError> {
    authorised_for(api, tenant, headers, false).await
}

/// [`authorised`], for a key that may read exports when `export` is asked.
async fn authorised_for(api: &Api, tenant: &str, headers: &HeaderMap, export: bool) -> Result<Arc<Tenant>, ApiError> {
    let tenant = api.tenant(tenant).await?;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::bad_key)?;
    let keys = tenant.config.data.keys.iter().filter(|k| k.may_export || !export);
    let keys = keys.map(|k| (k.name.as_str(), k.sha256.as_str()));
    let Some(name) = data_key::matching(presented, keys) else { return Err(ApiError::bad_key()) };
    tracing::info!(key = name, "data key accepted");
    api.limits.admit_writes(&tenant.id, ROUTE, 1, api.clock.now()).await?;
    Ok(tenant)
}

/// A JSON body read into `T`, a problem named by its field path.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    switchboard_engine::customers::from_json(body).map_err(|e| ApiError::invalid(vec![e]))
}

fn customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    CustomerId::new(raw).map_err(|e| ApiError::invalid(vec![FieldError { field: "id".into(), message: e.to_string() }]))
}

/// The body with the path's id in it: a body naming another id is a mistake, not a rename.
fn with_id(body: &[u8], id: &str) -> Result<Vec<u8>, ApiError> {
    let mut value: Value = parse(body)?;
    let Some(object) = value.as_object_mut() else {
        return Err(ApiError::invalid(vec![FieldError { field: "body".into(), message: "a JSON object".into() }]));
    };
    match object.get("id") {
        Some(Value::String(named)) if named != id => Err(ApiError::invalid(vec![FieldError {
            field: "id".into(),
            message: "differs from the id in the path".into(),
        }])),
        _ => {
            object.insert("id".into(), Value::String(id.into()));
            serde_json::to_vec(&value).map_err(|e| ApiError::bad_request(e.to_string()))
        }
    }
}

/// `PUT /v1/{tenant}/customers/{id}`: creates or replaces a profile (the `Customer` shape;
/// `id` may be left out). Orders it carries are stored; other stored orders are kept.
pub(super) async fn put_customer(
    State(api): State<Arc<Api>>,
    Path((tenant, id)): Path<(String, String)>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("data", request_id = %request_id, tenant = %tenant, route = "put_customer");
    async move {
        let tenant = authorised(&api, &tenant, &headers).await?;
        let body = body.map_err(ApiError::body)?;
        let id = customer_id(&id)?;
        let customer: Customer = parse(&with_id(&body, id.as_str())?)?;
        let customer = check_customer(customer).map_err(ApiError::invalid)?;
        let keep = tenant.config.data.retention.profile_expiry(api.clock.now());
        api.customers.put_customer(&tenant.id, &customer, keep).await?;
        Ok(Json(json!({"customer": id, "orders": customer.orders.len(), "stored": true})).into_response())
    }
    .instrument(span)
    .await
}

/// `PUT /v1/{tenant}/customers/{id}/orders/{order}`: creates or replaces one order of a
/// customer the tenant has (404 otherwise: an order needs its customer to be found by).
pub(super) async fn put_order(
    State(api): State<Arc<Api>>,
    Path((tenant, id, number)): Path<(String, String, String)>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("data", request_id = %request_id, tenant = %tenant, route = "put_order");
    async move {
        let tenant = authorised(&api, &tenant, &headers).await?;
        let body = body.map_err(ApiError::body)?;
        let id = customer_id(&id)?;
        let order: Order = parse(&with_id(&body, &number)?)?;
        let order = check_order(order).map_err(ApiError::invalid)?;
        let keep = tenant.config.data.retention.profile_expiry(api.clock.now());
        match api.customers.put_order(&tenant.id, &id, &order, keep).await {
            Ok(()) => Ok(Json(json!({"customer": id, "order": order.id, "stored": true})).into_response()),
            Err(switchboard_core::ports::PortError::Rejected { .. }) => {
                Err(ApiError::not_found("no such customer: PUT the profile first"))
            }
            Err(e) => Err(e.into()),
        }
    }
    .instrument(span)
    .await
}

/// `DELETE /v1/{tenant}/customers/{id}`: erases everything held about the customer (profile,
/// orders, identity links, conversations and turns, the conversation ids in cost records;
/// docs/privacy.md). Idempotent: erasing someone not held answers 200 with `erased: false`.
pub(super) async fn delete_customer(
    State(api): State<Arc<Api>>,
    Path((tenant, id)): Path<(String, String)>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("data", request_id = %request_id, tenant = %tenant, route = "delete_customer");
    async move {
        let tenant = authorised(&api, &tenant, &headers).await?;
        let id = customer_id(&id)?;
        let erasure = held(&api).erase(&tenant.id, &id, api.clock.now()).await?;
        tracing::info!(
            erased = erasure.profile,
            conversations = erasure.conversations,
            cost_records = erasure.cost_records,
            "customer erased"
        );
        let body = json!({"customer": id, "erased": erasure.profile, "conversations": erasure.conversations,
            "cost_records": erasure.cost_records});
        Ok(Json(body).into_response())
    }
    .instrument(span)
    .await
}

/// The stores that hold a customer's data.
fn held(api: &Api) -> switchboard_engine::customers::privacy::Held<'_> {
    switchboard_engine::customers::privacy::Held {
        customers: api.customers.as_ref(),
        conversations: api.conversations.as_ref(),
        ledger: api.costs.ledger.as_ref(),
    }
}

/// `GET /v1/{tenant}/customers/{id}/export`: everything held about the customer, for their
/// access request — only with a key the tenant marked `may_export`; each export is logged
/// with the key's name.
pub(super) async fn export_customer(
    State(api): State<Arc<Api>>,
    Path((tenant, id)): Path<(String, String)>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("data", request_id = %request_id, tenant = %tenant, route = "export_customer");
    async move {
        let tenant = authorised_for(&api, &tenant, &headers, true).await?;
        let id = customer_id(&id)?;
        match held(&api).export(&tenant.id, &id, api.clock.now()).await? {
            Some(export) => {
                tracing::info!(conversations = export.conversations.len(), "customer export served");
                Ok(Json(export).into_response())
            }
            None => Err(ApiError::not_found("no such customer")),
        }
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use crate::embedded::{Embedded, Options};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::{Value, json};
    use switchboard_core::config::DEMO_DATA_KEY;
    use switchboard_core::domain::{CustomerId, TenantId};
    use switchboard_core::ports::CustomerStore;
    use tower::ServiceExt;

    async fn demo() -> Embedded {
        let options = Options { print_escalations: false, ..Options::default() };
        Embedded::start(vec![switchboard_engine::tenant::Tenant::demo().unwrap()], options).await.unwrap()
    }

    async fn call(app: &Embedded, method: &str, path: &str, key: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path).header("content-type", "application/json");
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let response = app.router().oneshot(request.body(Body::from(body.to_string())).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn profile(app: &Embedded, id: &str) -> Option<switchboard_core::domain::Customer> {
        app.customers.customer(&TenantId::new("demo").unwrap(), &CustomerId::new(id).unwrap()).await.unwrap()
    }

    fn ana() -> Value {
        json!({"name": "Ana Nueva", "tier": "vip", "phones": ["+34 600 555 111"], "emails": ["Ana@Example.org"]})
    }

    #[tokio::test]
    async fn a_tenants_key_writes_profiles_and_orders_and_erases_them() {
        let app = demo().await;
        let (status, body) = call(&app, "PUT", "/v1/demo/customers/c-9001", Some(DEMO_DATA_KEY), ana()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let stored = profile(&app, "c-9001").await.expect("stored");
        assert_eq!(
            (stored.phones.as_slice(), stored.emails.as_slice()),
            (&["+34600555111".to_string()][..], &["ana@example.org".to_string()][..])
        );
        assert_eq!(body, json!({"customer": "c-9001", "orders": 0, "stored": true}), "nothing of the profile echoed");

        let order = json!({"status": "shipped", "tracking": "https://track.example/9"});
        let (status, _) = call(&app, "PUT", "/v1/demo/customers/c-9001/orders/DS-9", Some(DEMO_DATA_KEY), order).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            profile(&app, "c-9001").await.unwrap().order("DS-9").map(|o| o.status.clone()),
            Some("shipped".into())
        );
        let nobody = json!({"status": "new"});
        let (status, _) = call(&app, "PUT", "/v1/demo/customers/c-none/orders/X-1", Some(DEMO_DATA_KEY), nobody).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "an order needs its customer");

        let (status, body) = call(&app, "DELETE", "/v1/demo/customers/c-9001", Some(DEMO_DATA_KEY), Value::Null).await;
        assert_eq!((status, &body["erased"]), (StatusCode::OK, &json!(true)));
        assert!(profile(&app, "c-9001").await.is_none());
        let customers = &app.customers;
        let demo = TenantId::new("demo").unwrap();
        assert_eq!(customers.customer_for(&demo, "phone:+34600555111").await.unwrap(), None, "links erased too");
        let (status, body) = call(&app, "DELETE", "/v1/demo/customers/c-9001", Some(DEMO_DATA_KEY), Value::Null).await;
        assert_eq!((status, &body["erased"]), (StatusCode::OK, &json!(false)), "erasure is idempotent");
    }

    #[tokio::test]
    async fn without_a_key_of_the_tenant_nothing_is_written_or_read() {
        let app = demo().await;
        for key in [None, Some("sbk_guess"), Some("52bf087dc0f1dad4ef82f14af2d8b01a1cbb3bc89a94ecb20217dad327b92f49")] {
            let (status, body) = call(&app, "PUT", "/v1/demo/customers/c-1001", key, ana()).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("bad_key")),
                "{key:?}"
            );
        }
        assert_eq!(profile(&app, "c-1001").await.unwrap().name, "Ana García", "the seed is untouched");
        let (status, _) = call(&app, "DELETE", "/v1/demo/customers/c-1001", Some("sbk_guess"), Value::Null).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(profile(&app, "c-1001").await.is_some());
        let (status, _) = call(&app, "GET", "/v1/demo/customers/c-1001", Some(DEMO_DATA_KEY), Value::Null).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "never readable back through this route");
    }

    #[tokio::test]
    async fn a_bad_record_is_refused_with_every_field_path_and_stores_nothing() {
        let app = demo().await;
        let bad = json!({"name": "", "phones": ["600 111 222"], "orders": [{"id": "A-1", "status": ""}]});
        let (status, body) = call(&app, "PUT", "/v1/demo/customers/c-9002", Some(DEMO_DATA_KEY), bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> =
            body["error"]["problems"].as_array().unwrap().iter().filter_map(|p| p["field"].as_str()).collect();
        assert_eq!(fields, ["name", "phones[0]", "orders[0].status"], "{body}");
        let unknown = json!({"name": "Ana", "orders": [{"id": "A-1", "status": "new", "colour": "red"}]});
        let (status, body) = call(&app, "PUT", "/v1/demo/customers/c-9002", Some(DEMO_DATA_KEY), unknown).await;
        assert_eq!(
            (status, body["error"]["problems"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("orders[0].colour"))
        );
        let renamed = json!({"id": "c-other", "name": "Ana"});
        let (status, body) = call(&app, "PUT", "/v1/demo/customers/c-9002", Some(DEMO_DATA_KEY), renamed).await;
        assert_eq!(
            (status, body["error"]["problems"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("id"))
        );
        let (status, _) =
            call(&app, "PUT", "/v1/demo/customers/bad%20id/orders/X", Some(DEMO_DATA_KEY), json!({"status": "x"}))
                .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(profile(&app, "c-9002").await.is_none(), "nothing half-written");
    }

    /// Only a key the tenant marked `may_export` reads an export; the export holds the profile
    /// and what the customer wrote.
    #[tokio::test]
    async fn an_export_needs_a_key_that_may_export() {
        let mut demo = switchboard_engine::tenant::Tenant::demo().unwrap();
        let (export_key, digest) = switchboard_core::keys::data_key::generate();
        demo.config.data.keys.push(switchboard_core::config::DataKey {
            name: "privacy-desk".into(),
            sha256: digest,
            may_export: true,
        });
        let options = Options { print_escalations: false, ..Options::default() };
        let app = Embedded::start(vec![demo], options).await.unwrap();
        let path = "/v1/demo/customers/c-1001/export";
        let (status, _) = call(&app, "GET", path, Some(DEMO_DATA_KEY), Value::Null).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a write key does not read");
        let (status, body) = call(&app, "GET", path, Some(&export_key), Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["profile"]["name"], "Ana García");
        assert_eq!(body["identities"], json!(["phone:+34600111222", "email:ana.garcia@example.com"]));
        let (status, _) = call(&app, "GET", "/v1/demo/customers/c-none/export", Some(&export_key), Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    /// A tenant that keeps profiles 30 days: what the data API wrote is there for 30 days from
    /// the write, then found by nobody (the responder, an order write, the seeds), and a new
    /// write keeps it anew.
    #[tokio::test]
    async fn profiles_are_kept_for_the_tenants_retention_from_the_last_write() {
        let mut demo = switchboard_engine::tenant::Tenant::demo().unwrap();
        demo.config.data.retention.profiles_days = Some(30);
        let clock = std::sync::Arc::new(switchboard_engine::memory::ManualClock::new(chrono::Utc::now()));
        let options = Options { print_escalations: false, clock: clock.clone(), ..Options::default() };
        let app = Embedded::start(vec![demo], options).await.unwrap();
        let (status, _) = call(&app, "PUT", "/v1/demo/customers/c-9100", Some(DEMO_DATA_KEY), ana()).await;
        assert_eq!(status, StatusCode::OK);
        clock.advance(chrono::Duration::days(29));
        assert!(profile(&app, "c-9100").await.is_some(), "kept for 30 days");
        assert!(profile(&app, "c-1001").await.is_some(), "the file's seeds too");
        clock.advance(chrono::Duration::days(1));
        assert!(profile(&app, "c-9100").await.is_none(), "gone after 30");
        assert!(profile(&app, "c-1001").await.is_none(), "the seeds as well");
        let order = json!({"status": "shipped"});
        let (status, _) = call(&app, "PUT", "/v1/demo/customers/c-9100/orders/DS-1", Some(DEMO_DATA_KEY), order).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no order for a profile that is gone");
        let (status, _) = call(&app, "PUT", "/v1/demo/customers/c-9100", Some(DEMO_DATA_KEY), ana()).await;
        assert_eq!(status, StatusCode::OK);
        clock.advance(chrono::Duration::days(29));
        assert!(profile(&app, "c-9100").await.is_some(), "a new write keeps it anew");
    }

    #[tokio::test]
    async fn writes_past_the_tenants_limit_are_answered_429() {
        let limits = switchboard_engine::limits::LimitSettings { data_writes_per_minute: 3, ..Default::default() };
        let options = Options { print_escalations: false, limits, ..Options::default() };
        let app = Embedded::start(vec![switchboard_engine::tenant::Tenant::demo().unwrap()], options).await.unwrap();
        let mut statuses = Vec::new();
        for n in 0..4 {
            let path = format!("/v1/demo/customers/c-7{n}");
            statuses.push(call(&app, "PUT", &path, Some(DEMO_DATA_KEY), ana()).await.0);
        }
        assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
        assert!(profile(&app, "c-73").await.is_none());
    }
}
