//! The shop's own data on the local servers (DynamoDB Local, moto): the data API keeps a
//! customer's profile and orders current, and the customer's next message is answered from
//! what it wrote; a request without the tenant's key changes nothing.

use serde_json::json;
use switchboard::adapters::aws::{DynamoCustomers, Table};
use switchboard::config::DEMO_DATA_KEY;
use switchboard::domain::{CustomerId, TenantId};
use switchboard::ports::CustomerStore;
use switchboard_tests::provider::FakeProvider;
use switchboard_tests::stack::{Options, Stack, stack};

fn key() -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {DEMO_DATA_KEY}"))]
}

async fn send(s: &Stack, method: &str, path: &str, headers: &[(&str, String)], body: serde_json::Value) -> u16 {
    let (status, text) = s.send_raw(method, path, "application/json", headers, body.to_string().into_bytes()).await;
    assert!(!text.contains("+34600555111"), "nothing of the profile comes back: {text}");
    status.as_u16()
}

fn customers(s: &Stack) -> DynamoCustomers {
    DynamoCustomers::new(Table::new(s.aws.clients.dynamodb.clone(), &s.aws.table))
}

fn sms_body(fake: &FakeProvider) -> String {
    let sent = fake.recorded();
    let last = sent.last().expect("an answer was sent");
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&last.body).unwrap();
    form.into_iter().find(|(k, _)| k == "Body").map(|(_, v)| v).unwrap_or_default()
}

#[tokio::test]
async fn the_data_api_keeps_a_customer_current_for_their_next_message() {
    let fake = FakeProvider::start(0).await;
    let s = stack(Options { providers: Some(fake.url.clone()), ..Options::default() }).await;
    let profile = json!({"name": "Marta Ruiz", "language": "es", "phones": ["+34 600 555 111"]});
    assert_eq!(send(&s, "PUT", "/v1/demo/customers/c-9001", &key(), profile).await, 200);
    let order = json!({"status": "enviado", "placed": "2026-12-01", "tracking": "https://track.example/DS-9001"});
    assert_eq!(send(&s, "PUT", "/v1/demo/customers/c-9001/orders/DS-9001", &key(), order).await, 200);

    let (status, _) = s.sms("SM00000000000000000000000000009001", "+34600555111", "¿Dónde está mi pedido?").await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(s.run_responder().await, 1);
    let answer = sms_body(&fake);
    assert!(answer.contains("Marta") && answer.contains("DS-9001"), "answered from the data API's records: {answer}");

    // The shop marks it delivered: the next answer says so.
    let delivered = json!({"status": "entregado", "placed": "2026-12-01"});
    assert_eq!(send(&s, "PUT", "/v1/demo/customers/c-9001/orders/DS-9001", &key(), delivered).await, 200);
    s.sms("SM00000000000000000000000000009002", "+34600555111", "¿Y mi pedido?").await;
    assert_eq!(s.run_responder().await, 1);
    assert!(sms_body(&fake).contains("entregado"), "{}", sms_body(&fake));

    // Erased: the number is nobody's, the profile and orders are gone.
    assert_eq!(send(&s, "DELETE", "/v1/demo/customers/c-9001", &key(), json!(null)).await, 200);
    let demo = TenantId::new("demo").unwrap();
    assert_eq!(customers(&s).customer_for(&demo, "phone:+34600555111").await.unwrap(), None);
    assert_eq!(customers(&s).customer(&demo, &CustomerId::new("c-9001").unwrap()).await.unwrap(), None);
}

#[tokio::test]
async fn without_the_tenants_key_the_data_api_changes_nothing() {
    let s = stack(Options::default()).await;
    let before = s.items().await;
    let forged = [("authorization", "Bearer sbk_not-a-key-of-this-tenant".to_string())];
    let profile = json!({"name": "Mallory", "phones": ["+34600111222"]});
    for (method, path) in [
        ("PUT", "/v1/demo/customers/c-1001"),
        ("PUT", "/v1/demo/customers/c-1001/orders/DS-20417"),
        ("DELETE", "/v1/demo/customers/c-1001"),
    ] {
        assert_eq!(send(&s, method, path, &forged, profile.clone()).await, 401, "{method} {path}");
        assert_eq!(send(&s, method, path, &[], profile.clone()).await, 401, "{method} {path} without a key");
    }
    assert_eq!(s.items().await, before, "nothing written");
    let demo = TenantId::new("demo").unwrap();
    let ana = customers(&s).customer(&demo, &CustomerId::new("c-1001").unwrap()).await.unwrap().unwrap();
    assert_eq!(ana.name, "Ana García");
    assert_eq!(send(&s, "GET", "/v1/demo/customers/c-1001", &key(), json!(null)).await, 405, "write-only");
}

const SHOPIFY_ORDER: &str = include_str!("fixtures/shops/shopify-orders-updated.json");
const SHOPIFY_FULFILLMENT: &str = include_str!("fixtures/shops/shopify-fulfillments-update.json");
const WOO_ORDER: &str = include_str!("fixtures/shops/woocommerce-order-updated.json");

fn signed() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/shops/signed.json")).unwrap()
}

fn hmac_b64(secret: &str, body: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(switchboard::keys::hmac_sha256(secret.as_bytes(), &[body]))
}

async fn shopify(s: &Stack, topic: &str, webhook_id: &str, shop: &str, signature: String, body: &str) -> (u16, String) {
    let headers = [
        ("x-shopify-topic", topic.to_string()),
        ("x-shopify-hmac-sha256", signature),
        ("x-shopify-shop-domain", shop.to_string()),
        ("x-shopify-webhook-id", webhook_id.to_string()),
        ("x-shopify-api-version", "2025-10".to_string()),
    ];
    let (status, text) = s.post_raw("/v1/demo/shopify", "application/json", &headers, body.as_bytes().to_vec()).await;
    (status.as_u16(), text)
}

async fn woo(s: &Stack, topic: &str, signature: Option<String>, body: &[u8]) -> u16 {
    let mut headers =
        vec![("x-wc-webhook-topic", topic.to_string()), ("x-wc-webhook-source", "https://shop.example/".into())];
    if let Some(signature) = signature {
        headers.push(("x-wc-webhook-signature", signature));
    }
    s.post_raw("/v1/demo/woocommerce", "application/json", &headers, body.to_vec()).await.0.as_u16()
}

/// The units and cost of the shop webhook delivery that did the most storage work in the demo
/// tenant's ledger.
async fn webhook_cost(s: &Stack) -> (switchboard::meter::Metered, u64) {
    use switchboard::ports::CostLedger;
    let ledger =
        switchboard::adapters::aws::DynamoLedger::new(Table::new(s.aws.clients.dynamodb.clone(), &s.aws.table));
    let demo = TenantId::new("demo").unwrap();
    let records = ledger.records(&demo, switchboard::cost::Month::of(chrono::Utc::now()), 100).await.unwrap();
    let record = records.iter().max_by_key(|r| r.units.dynamodb_calls).expect("a billed delivery");
    (record.units.clone(), record.cost_nanos)
}

async fn profile(s: &Stack, id: &str) -> Option<switchboard::domain::Customer> {
    customers(s).customer(&TenantId::new("demo").unwrap(), &CustomerId::new(id).unwrap()).await.unwrap()
}

#[tokio::test]
async fn a_signed_shopify_order_keeps_the_customer_current_once_and_in_order() {
    let fake = FakeProvider::start(0).await;
    let s = stack(Options { providers: Some(fake.url.clone()), ..Options::default() }).await;
    let shop = "demo-shop.myshopify.com";
    let signature = signed()["shopify"]["orders/updated"].as_str().unwrap().to_string();
    let before = s.items().await;

    // Refused: a wrong signature, a tampered body, no signature. Nothing stored.
    let wrong = hmac_b64("another-secret", SHOPIFY_ORDER.as_bytes());
    assert_eq!(shopify(&s, "orders/updated", "w-1", shop, wrong, SHOPIFY_ORDER).await.0, 401);
    let tampered = SHOPIFY_ORDER.replace("in_transit", "delivered");
    assert_eq!(shopify(&s, "orders/updated", "w-1", shop, signature.clone(), &tampered).await.0, 401);
    assert_eq!(s.items().await, before, "a refused delivery stores nothing");
    // Signed by the app, but for another store the app is installed on: acknowledged, skipped.
    let other =
        shopify(&s, "orders/updated", "w-1", "rival-shop.myshopify.com", signature.clone(), SHOPIFY_ORDER).await;
    assert_eq!(other.0, 200);
    assert_eq!(s.items().await, before, "another store's order is not this tenant's");

    let (status, _) = shopify(&s, "orders/updated", "w-1", shop, signature.clone(), SHOPIFY_ORDER).await;
    assert_eq!(status, 200);
    // The shop's e-mail is the demo tenant's Ana (c-1001): her profile is the one updated.
    let ana = profile(&s, "c-1001").await.expect("the tenant's own profile");
    assert!(ana.phones.contains(&"+34600777888".to_string()), "the shop's phone is added: {:?}", ana.phones);
    assert!(profile(&s, "shopify-115310627314723954").await.is_none(), "no second profile for the same person");
    assert_eq!(ana.order("1001").map(|o| o.status.clone()), Some("in transit".into()));
    let stored = s.items().await;
    // The delivery is billed to the tenant, its units measured like a message's.
    let (units, cost) = webhook_cost(&s).await;
    eprintln!("a Shopify order update: {units:?}, {cost} nano-USD");
    assert!(cost > 0 && units.dynamodb_calls > 0 && units.dynamodb_write_milli_units > 0, "{units:?}");
    assert_eq!(
        shopify(&s, "orders/updated", "w-1", shop, signature, SHOPIFY_ORDER).await.0,
        200,
        "a retry is acknowledged"
    );
    assert_eq!(s.items().await, stored, "and changes nothing");

    // The parcel arrives; then an older delivery of the order arrives late and is not kept.
    let delivered =
        SHOPIFY_ORDER.replace("\"shipment_status\": \"in_transit\"", "\"shipment_status\": \"delivered\"").replace(
            "\"updated_at\": \"2026-11-30T08:02:11+01:00\",\n  \"billing",
            "\"updated_at\": \"2026-12-01T12:00:00+01:00\",\n  \"billing",
        );
    let secret = signed()["shopify"]["secret"].as_str().unwrap().to_string();
    let (status, _) =
        shopify(&s, "orders/updated", "w-2", shop, hmac_b64(&secret, delivered.as_bytes()), &delivered).await;
    assert_eq!(status, 200);
    let late =
        SHOPIFY_ORDER.replace("\"shipment_status\": \"in_transit\"", "\"shipment_status\": \"out_for_delivery\"");
    let (status, _) = shopify(&s, "orders/updated", "w-3", shop, hmac_b64(&secret, late.as_bytes()), &late).await;
    assert_eq!(status, 200);
    let ana = profile(&s, "c-1001").await.unwrap();
    assert_eq!(ana.order("#1001").map(|o| o.status.clone()), Some("delivered".into()), "the newer status stays");

    // Topics not kept are acknowledged and store nothing.
    let stored = s.items().await;
    let product = r#"{"id": 1, "title": "Wool sweater"}"#;
    let (status, _) = shopify(&s, "products/update", "w-4", shop, hmac_b64(&secret, product.as_bytes()), product).await;
    assert_eq!((status, s.items().await), (200, stored));

    // The customer writes from the shop's number: the answer is from the shop's order.
    s.sms("SM00000000000000000000000000009101", "+34600777888", "Where is my order?").await;
    assert_eq!(s.run_responder().await, 1);
    let answer = sms_body(&fake);
    assert!(answer.contains("Ana") && answer.contains("#1001"), "{answer}");
}

#[tokio::test]
async fn a_signed_woocommerce_order_updates_the_profile_the_tenant_already_has() {
    let s = stack(Options::default()).await;
    // Imported earlier under the tenant's own id, with the e-mail the shop has.
    let imported = json!({"name": "Clara Schmidt", "tier": "vip", "emails": ["clara@example.de"]});
    assert_eq!(send(&s, "PUT", "/v1/demo/customers/c-5000", &key(), imported).await, 200);
    let before = s.items().await;
    assert_eq!(woo(&s, "order.updated", None, WOO_ORDER.as_bytes()).await, 401, "unsigned");
    let forged = hmac_b64("guess", WOO_ORDER.as_bytes());
    assert_eq!(woo(&s, "order.updated", Some(forged), WOO_ORDER.as_bytes()).await, 401);
    assert_eq!(s.items().await, before);
    assert_eq!(woo(&s, "", None, b"webhook_id=17").await, 200, "the ping that saves a new webhook");
    assert_eq!(s.items().await, before, "and stores nothing");

    let signature = signed()["woocommerce"]["order.updated"].as_str().unwrap().to_string();
    assert_eq!(woo(&s, "order.updated", Some(signature.clone()), WOO_ORDER.as_bytes()).await, 200);
    let clara = profile(&s, "c-5000").await.expect("the imported profile");
    assert_eq!(clara.tier, "vip", "what the tenant keeps is kept");
    assert_eq!(clara.phones, ["+49301234567"], "the shop's phone is added, in E.164");
    let order = clara.order("727").expect("the order is on the imported profile");
    assert_eq!(
        (order.status.as_str(), order.tracking.as_deref()),
        ("shipped", Some("https://tracking.example/DHL/00340434"))
    );
    assert!(profile(&s, "woocommerce-25").await.is_none(), "no second profile for the same person");
    let stored = s.items().await;
    assert_eq!(woo(&s, "order.updated", Some(signature), WOO_ORDER.as_bytes()).await, 200);
    assert_eq!(s.items().await, stored, "a repeated delivery changes nothing");
}

#[tokio::test]
async fn an_erasure_through_the_data_api_removes_the_customers_conversations_too() {
    let fake = FakeProvider::start(0).await;
    let s = stack(Options { providers: Some(fake.url.clone()), ..Options::default() }).await;
    // Ana (c-1001) writes from her phone: a verified conversation with turns and a cost record.
    s.sms("SM00000000000000000000000000009201", "+34600111222", "¿Dónde está mi pedido DS-20417?").await;
    assert_eq!(s.run_responder().await, 1);
    let answer = sms_body(&fake);
    assert!(answer.contains("DS-20417") && answer.contains("Ana"), "{answer}");

    // A write-only key cannot read the export; no key of the tenant is marked may_export.
    let (status, _) = s.send_raw("GET", "/v1/demo/customers/c-1001/export", "application/json", &key(), vec![]).await;
    assert_eq!(status.as_u16(), 401, "the data key writes; it does not read");

    let (status, body) = s.send_raw("DELETE", "/v1/demo/customers/c-1001", "application/json", &key(), vec![]).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((body["erased"].as_bool(), body["conversations"].as_u64()), (Some(true), Some(1)), "{body}");
    assert!(body["cost_records"].as_u64().unwrap_or(0) >= 1, "her cost records lose their conversation id: {body}");
    let demo = TenantId::new("demo").unwrap();
    assert_eq!(customers(&s).customer_for(&demo, "phone:+34600111222").await.unwrap(), None);
    let (status, body) = s.send_raw("DELETE", "/v1/demo/customers/c-1001", "application/json", &key(), vec![]).await;
    assert_eq!(status.as_u16(), 200);
    assert!(body.contains("\"erased\":false"), "erasing again finds nothing: {body}");

    // She writes again: a stranger now, who learns nothing about the erased order.
    s.sms("SM00000000000000000000000000009202", "+34600111222", "Where is my order DS-20417?").await;
    assert_eq!(s.run_responder().await, 1);
    let answer = sms_body(&fake);
    assert!(!answer.contains("Ana") && !answer.contains("enviado") && !answer.contains("shipped"), "{answer}");
}

/// `customers import` on DynamoDB Local: a CSV with a bad row stores the good rows in batches,
/// reports the bad one by line, and an edited re-import unlinks the phone a row dropped.
#[tokio::test]
async fn a_csv_import_lands_in_the_table_and_a_reimport_updates_it() {
    use switchboard::customers::import::{Format, import};
    let aws = switchboard_tests::aws::local_aws().await;
    let store = DynamoCustomers::new(Table::new(aws.clients.dynamodb.clone(), &aws.table));
    let tenant = TenantId::new("shop").unwrap();
    let mut csv = String::from("id,name,tier,language,phones,emails,city\n");
    for n in 0..1_200 {
        csv.push_str(&format!("c{n:05},Customer {n},standard,en,+1555{n:07},c{n}@shop.example,City {}\n", n % 7));
    }
    csv.push_str("c-bad,,standard,en,+15559999999,,\n");
    let mut seen = Vec::new();
    let report =
        import(&store, &tenant, None, csv.as_bytes(), Format::Csv, false, &mut |rows| seen.push(rows)).await.unwrap();
    assert_eq!((report.rows, report.stored, report.rejected.len()), (1_201, 1_200, 1));
    assert_eq!(report.rejected[0].line, 1_202, "the bad row, by its line");
    assert!(seen.len() >= 3, "progress after every batch: {seen:?}");
    let found = store.customer_for(&tenant, "phone:+15550000999").await.unwrap();
    assert_eq!(found.map(|c| c.as_str().to_string()), Some("c00999".to_string()));
    assert_eq!(store.customer_for(&tenant, "phone:+15559999999").await.unwrap(), None, "nothing of the bad row");

    let edited = "id,name,phones\nc00999,Customer 999,+15558888888\n";
    import(&store, &tenant, None, edited.as_bytes(), Format::Csv, false, &mut |_| {}).await.unwrap();
    assert_eq!(store.customer_for(&tenant, "phone:+15550000999").await.unwrap(), None, "the dropped phone is unlinked");
    let moved = store.customer_for(&tenant, "phone:+15558888888").await.unwrap();
    assert_eq!(moved.map(|c| c.as_str().to_string()), Some("c00999".to_string()));
}

/// A business endpoint that answers order lookups: with `orders` after `delay`; it records
/// each request's signature check.
async fn business_endpoint(
    orders: serde_json::Value,
    delay: std::time::Duration,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<bool>>>) {
    use axum::http::HeaderMap;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/orders",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (log, orders) = (log.clone(), orders.clone());
            async move {
                let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let at: i64 = header("x-switchboard-timestamp").parse().unwrap_or_default();
                let expected = switchboard::helpdesks::webhook::sign(b"lookup-secret", at, &body);
                let asked: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                log.lock()
                    .unwrap()
                    .push(header("x-switchboard-signature") == expected && asked["customer"]["id"] == "c-1001");
                tokio::time::sleep(delay).await;
                axum::Json(json!({ "orders": orders }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/orders", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn with_lookup(url: &str) -> Vec<(String, String)> {
    let section = format!(
        "data:\n  lookups:\n    orders:\n      url: {url}\n      secret: lookup-secret\n      timeout_ms: 400\n      cache_seconds: 60\n  keys:"
    );
    vec![("data:\n  keys:".to_string(), section)]
}

async fn lookup_units(s: &Stack) -> (u32, u32) {
    use switchboard::ports::CostLedger;
    let ledger =
        switchboard::adapters::aws::DynamoLedger::new(Table::new(s.aws.clients.dynamodb.clone(), &s.aws.table));
    let demo = TenantId::new("demo").unwrap();
    let records = ledger.records(&demo, switchboard::cost::Month::of(chrono::Utc::now()), 100).await.unwrap();
    records.iter().fold((0, 0), |(n, failed), r| (n + r.units.lookups, failed + r.units.lookup_failures))
}

#[tokio::test]
async fn an_order_question_asks_the_business_system_and_its_answer_is_used() {
    let fake = FakeProvider::start(0).await;
    let current = json!([{"id": "DS-20417", "status": "delivered", "placed": "2026-11-20"}]);
    let (url, seen) = business_endpoint(current, std::time::Duration::ZERO).await;
    let options = Options { providers: Some(fake.url.clone()), replace: with_lookup(&url), ..Options::default() };
    let s = stack(options).await;
    s.sms("SM00000000000000000000000000009301", "+34600111222", "¿Dónde está mi pedido?").await;
    assert_eq!(s.run_responder().await, 1);
    let answer = sms_body(&fake);
    assert!(answer.contains("DS-20417") && answer.contains("entregado"), "the business's current status: {answer}");
    assert_eq!(*seen.lock().unwrap(), [true], "one signed lookup for the verified customer");
    assert_eq!(lookup_units(&s).await, (1, 0), "the lookup is in the ledger");

    // A second question within the cache's minute asks nothing more.
    s.sms("SM00000000000000000000000000009302", "+34600111222", "¿Y mi pedido?").await;
    assert_eq!(s.run_responder().await, 1);
    assert_eq!(seen.lock().unwrap().len(), 1, "answered from the short cache");

    // Not an order question: no lookup.
    s.sms("SM00000000000000000000000000009303", "+34600111222", "¿Cuál es vuestro horario?").await;
    assert_eq!(s.run_responder().await, 1);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// The fault row: the business's endpoint hangs. The answer comes from the stored profile once
/// the lookup's timeout passes, and the ledger counts the failed lookup.
#[tokio::test]
async fn a_hanging_lookup_costs_its_timeout_and_the_stored_order_answers() {
    let fake = FakeProvider::start(0).await;
    let (url, seen) = business_endpoint(json!([]), std::time::Duration::from_secs(20)).await;
    let options = Options { providers: Some(fake.url.clone()), replace: with_lookup(&url), ..Options::default() };
    let s = stack(options).await;
    s.sms("SM00000000000000000000000000009311", "+34600111222", "¿Dónde está mi pedido?").await;
    assert_eq!(s.run_responder().await, 1, "the message is answered, not lost or redelivered");
    let answer = sms_body(&fake);
    assert!(answer.contains("DS-20417") && answer.contains("enviado"), "the stored status answers: {answer}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(lookup_units(&s).await, (1, 1), "a failed lookup, counted");

    // An endpoint that is down answers the same way.
    let options = Options {
        providers: Some(fake.url.clone()),
        replace: with_lookup("http://127.0.0.1:9/orders"),
        ..Options::default()
    };
    let s = stack(options).await;
    s.sms("SM00000000000000000000000000009312", "+34600111222", "¿Dónde está mi pedido?").await;
    assert_eq!(s.run_responder().await, 1);
    assert!(sms_body(&fake).contains("enviado"));
    assert_eq!(lookup_units(&s).await, (1, 1));
}

/// The same lookup against a Shopify store's Admin API (a stand-in serving the documented
/// `orders.json` shape): asked with the store's access token and the customer's e-mail.
#[tokio::test]
async fn an_order_question_can_ask_the_shopify_admin_api() {
    use axum::extract::Query;
    use axum::http::HeaderMap;
    let fake = FakeProvider::start(0).await;
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    let order: serde_json::Value = serde_json::from_str(SHOPIFY_ORDER).unwrap();
    let path = format!("/admin/api/{}/orders.json", switchboard::lookups::SHOPIFY_API_VERSION);
    let app = axum::Router::new().route(
        &path,
        axum::routing::get(move |headers: HeaderMap, Query(q): Query<std::collections::HashMap<String, String>>| {
            let (log, order) = (log.clone(), order.clone());
            async move {
                let token = headers.get("x-shopify-access-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
                log.lock().unwrap().push((token.to_string(), q.get("email").cloned().unwrap_or_default()));
                axum::Json(json!({ "orders": [order] }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let section = format!(
        "data:\n  lookups:\n    orders:\n      shopify_access_token: shpat_demo\n      shopify_api_base: {base}\n  keys:"
    );
    let options = Options {
        providers: Some(fake.url.clone()),
        replace: vec![("data:\n  keys:".to_string(), section)],
        ..Options::default()
    };
    let s = stack(options).await;
    s.sms("SM00000000000000000000000000009321", "+34600111222", "Where is my order #1001?").await;
    assert_eq!(s.run_responder().await, 1);
    let answer = sms_body(&fake);
    assert!(answer.contains("#1001") && answer.contains("in transit"), "the store's order: {answer}");
    assert_eq!(*asked.lock().unwrap(), [("shpat_demo".to_string(), "ana.garcia@example.com".to_string())]);
}

/// A Shopify shipment names no customer id: it updates the order the tenant holds, of the
/// customer its e-mail or phone finds — one order item written — and anything it names that the
/// tenant does not hold (another customer, an order not yet delivered by its own webhook, an
/// older change) is acknowledged and leaves nothing behind.
#[tokio::test]
async fn a_signed_shopify_shipment_moves_the_order_it_names_and_nothing_else() {
    let s = stack(Options::default()).await;
    let shop = "demo-shop.myshopify.com";
    let secret = signed()["shopify"]["secret"].as_str().unwrap().to_string();
    let signature = signed()["shopify"]["fulfillments/update"].as_str().unwrap().to_string();
    let ship = |id: &'static str, body: String| {
        let signature = hmac_b64(&secret, body.as_bytes());
        let s = &s;
        async move { shopify(s, "fulfillments/update", id, shop, signature, &body).await.0 }
    };

    // Before the order is held: acknowledged, nothing written.
    let before = s.items().await;
    assert_eq!(shopify(&s, "fulfillments/update", "f-1", shop, signature.clone(), SHOPIFY_FULFILLMENT).await.0, 200);
    assert_eq!(s.items().await, before + 1, "the delivery's claim only: no order to move, none created");
    let tampered = SHOPIFY_FULFILLMENT.replace("delivered", "failure");
    assert_eq!(shopify(&s, "fulfillments/update", "f-2", shop, signature.clone(), &tampered).await.0, 401);

    let order_signature = signed()["shopify"]["orders/updated"].as_str().unwrap().to_string();
    assert_eq!(shopify(&s, "orders/updated", "o-1", shop, order_signature, SHOPIFY_ORDER).await.0, 200);
    let ana = profile(&s, "c-1001").await.unwrap();
    assert_eq!(ana.order("#1001").map(|o| o.status.as_str()), Some("in transit"));

    let stored = s.items().await;
    assert_eq!(shopify(&s, "fulfillments/update", "f-3", shop, signature, SHOPIFY_FULFILLMENT).await.0, 200);
    let ana = profile(&s, "c-1001").await.unwrap();
    let order = ana.order("#1001").unwrap();
    assert_eq!(order.status, "delivered");
    assert_eq!(order.items.as_deref(), Some("2 × Wool sweater - M, 1 × Rain jacket"), "what the order said stays");
    assert_eq!(order.updated.as_deref(), Some("2026-12-01T15:00:00+01:00"));
    assert_eq!(s.items().await, stored + 1, "the order item rewritten and the delivery's claim: nothing else");

    // An older shipment of the same order arrives late: the newer status stays.
    let older = SHOPIFY_FULFILLMENT
        .replace("\"shipment_status\": \"delivered\"", "\"shipment_status\": \"out_for_delivery\"")
        .replace("2026-12-01T15:00:00+01:00", "2026-11-30T09:00:00+01:00");
    assert_eq!(ship("f-4", older).await, 200);
    assert_eq!(profile(&s, "c-1001").await.unwrap().order("#1001").unwrap().status, "delivered");

    // Ana's order 1001 from another system (the data API) is not Shopify's #1001.
    let other_system = serde_json::json!({"status": "processing", "placed": "2026-11-01"});
    assert_eq!(send(&s, "PUT", "/v1/demo/customers/c-1001/orders/1001", &key(), other_system).await, 200);
    let second = SHOPIFY_FULFILLMENT
        .replace("\"#1001.1\"", "\"1001.1\"")
        .replace("2026-12-01T15:00:00+01:00", "2026-12-01T16:00:00+01:00");
    assert_eq!(ship("f-6", second).await, 200);
    let ana = profile(&s, "c-1001").await.unwrap();
    let exact = ana.orders.iter().find(|o| o.id == "1001").map(|o| o.status.as_str());
    assert_eq!(exact, Some("delivered"), "the shipment names `1001.1`, so order `1001`, exactly");
    let other = SHOPIFY_FULFILLMENT
        .replace("\"#1001.1\"", "\"#1002.1\"")
        .replace("2026-12-01T15:00:00+01:00", "2026-12-01T17:00:00+01:00");
    let stored = s.items().await;
    assert_eq!(ship("f-7", other).await, 200);
    assert_eq!(s.items().await, stored + 1, "`#1002` is not hers: only the claim");

    // Someone else's shipment naming Ana's order number: not Ana's order, nobody's profile.
    let stored = s.items().await;
    let stranger = SHOPIFY_FULFILLMENT
        .replace("Ana.Garcia@example.com", "someone@example.net")
        .replace("600 777 888", "611 000 000")
        .replace("\"shipment_status\": \"delivered\"", "\"shipment_status\": \"failure\"")
        .replace("2026-12-01T15:00:00+01:00", "2026-12-02T09:00:00+01:00");
    assert_eq!(ship("f-5", stranger).await, 200);
    assert_eq!(s.items().await, stored + 1, "the delivery's claim only");
    assert_eq!(profile(&s, "c-1001").await.unwrap().order("#1001").unwrap().status, "delivered");
}
