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
