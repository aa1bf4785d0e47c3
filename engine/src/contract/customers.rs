//! The customer store's contract: profiles, identity links, orders, erasure, batched puts.

use super::{tenant, unique};
use std::collections::BTreeMap;
use switchboard_core::domain::{Customer, CustomerId, Language, Order, TenantId};
use switchboard_core::ports::{CustomerStore, ORDERS_READ, PortError};

fn customer(id: &str) -> Customer {
    Customer {
        id: CustomerId::new(id).unwrap_or_else(|e| panic!("{e}")),
        name: "Ana García".into(),
        tier: "gold".into(),
        language: Language::from_code("es"),
        orders: vec![],
        attributes: BTreeMap::from([("city".to_string(), "Sevilla".to_string())]),
        phones: vec![],
        emails: vec![],
    }
}

fn order(id: &str, status: &str, placed: &str) -> Order {
    Order {
        id: id.into(),
        status: status.into(),
        placed: Some(placed.into()),
        eta: None,
        tracking: None,
        items: Some("1 × blue mug".into()),
        updated: None,
    }
}

async fn load(store: &dyn CustomerStore, t: &TenantId, id: &CustomerId) -> Option<Customer> {
    store.customer(t, id).await.unwrap_or_else(|e| panic!("customer: {e}"))
}

async fn owner(store: &dyn CustomerStore, t: &TenantId, identity: &str) -> Option<CustomerId> {
    store.customer_for(t, identity).await.unwrap_or_else(|e| panic!("customer_for: {e}"))
}

/// Customers: put, get, replace, identities, tenant isolation; then orders and erasure.
pub async fn customer_store(store: &dyn CustomerStore) {
    profiles_and_identities(store).await;
    orders(store).await;
    erasure(store).await;
    batched_puts(store).await;
}

async fn profiles_and_identities(store: &dyn CustomerStore) {
    let a = tenant(&unique("a-"));
    let b = tenant(&unique("b-"));
    let id = CustomerId::new("c-1001").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.customer(&a, &id).await.ok().flatten(), None, "missing reads as None");
    let mut customer = customer(id.as_str());
    store.put_customer(&a, &customer).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(store.customer(&a, &id).await.ok().flatten().as_ref(), Some(&customer), "reads back exactly");
    assert_eq!(store.customer(&b, &id).await.ok().flatten(), None, "another tenant cannot read it");
    customer.tier = "vip".into();
    customer.phones = vec!["+34600111222".into()];
    customer.emails = vec!["Ana@Example.com".into()];
    store.put_customer(&a, &customer).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(store.customer(&a, &id).await.ok().flatten().map(|c| c.tier), Some("vip".into()), "put replaces");
    let found = |identity: &'static str, t: &TenantId| {
        let t = t.clone();
        async move { store.customer_for(&t, identity).await.unwrap_or_else(|e| panic!("customer_for: {e}")) }
    };
    assert_eq!(found("phone:+34600111222", &a).await, Some(id.clone()), "a phone finds its customer");
    assert_eq!(found("email:ana@example.com", &a).await, Some(id.clone()), "e-mails are matched lowercase");
    assert_eq!(found("phone:+34600111222", &b).await, None, "not across tenants");
    assert_eq!(found("phone:+10000000000", &a).await, None, "unknown identities are None");

    // An update that no longer lists a phone removes its link: the number is nobody's now.
    customer.phones = vec![];
    store.put_customer(&a, &customer).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(found("phone:+34600111222", &a).await, None, "a dropped phone identifies nobody");
    assert_eq!(found("email:ana@example.com", &a).await, Some(id.clone()), "the kept e-mail still does");

    // The number moves to another customer; the first one's next update does not take it back
    // or remove it.
    let other = Customer {
        id: CustomerId::new("c-1002").unwrap_or_else(|e| panic!("{e}")),
        phones: vec!["+34600111222".into()],
        emails: vec![],
        ..customer.clone()
    };
    store.put_customer(&a, &other).await.unwrap_or_else(|e| panic!("put: {e}"));
    customer.emails = vec![];
    store.put_customer(&a, &customer).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(found("phone:+34600111222", &a).await, Some(other.id.clone()), "the new owner keeps it");
    assert_eq!(found("email:ana@example.com", &a).await, None, "every dropped identity goes");
}

/// Orders: stored with the profile or one at a time, read back newest first; a profile put keeps
/// the orders it does not carry; an order for nobody is refused.
async fn orders(store: &dyn CustomerStore) {
    let a = tenant(&unique("a-"));
    let mut ana = customer("c-2001");
    ana.orders = vec![order("DS-100", "delivered", "2026-10-01")];
    store.put_customer(&a, &ana).await.unwrap_or_else(|e| panic!("put: {e}"));
    let shipped =
        Order { tracking: Some("https://track.example/1Z999".into()), ..order("DS-101", "shipped", "2026-11-20") };
    store.put_order(&a, &ana.id, &shipped).await.unwrap_or_else(|e| panic!("put_order: {e}"));
    let got = load(store, &a, &ana.id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert_eq!(got.orders.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["DS-101", "DS-100"], "newest first");
    assert_eq!(got.order("#ds-101"), Some(&shipped), "found by number as customers type it");

    // A profile update without orders (a shop's customers/update) keeps them; one carrying an
    // order replaces that order only.
    ana.orders = vec![];
    ana.name = "Ana G.".into();
    store.put_customer(&a, &ana).await.unwrap_or_else(|e| panic!("put: {e}"));
    ana.orders = vec![order("DS-100", "returned", "2026-10-01")];
    store.put_customer(&a, &ana).await.unwrap_or_else(|e| panic!("put: {e}"));
    let got = load(store, &a, &ana.id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert_eq!(got.name, "Ana G.");
    let statuses: Vec<_> = got.orders.iter().map(|o| (o.id.as_str(), o.status.as_str())).collect();
    assert_eq!(statuses, [("DS-101", "shipped"), ("DS-100", "returned")], "orders kept and replaced by number");

    let nobody = CustomerId::new("c-nobody").unwrap_or_else(|e| panic!("{e}"));
    let refused = store.put_order(&a, &nobody, &shipped).await;
    assert!(matches!(refused, Err(PortError::Rejected { .. })), "an order for nobody is refused: {refused:?}");
    assert_eq!(load(store, &a, &nobody).await, None, "and leaves nothing behind");

    // A customer with years of orders reads back a bounded, newest slice.
    let mut many = customer("c-2002");
    many.orders = (0..ORDERS_READ + 5)
        .map(|n| order(&format!("M-{n:04}"), "delivered", &format!("2020-01-01T00:{n:04}")))
        .collect();
    store.put_customer(&a, &many).await.unwrap_or_else(|e| panic!("put: {e}"));
    let got = load(store, &a, &many.id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert_eq!(got.orders.len(), ORDERS_READ, "at most ORDERS_READ orders are read");
    assert_eq!(got.orders.first().map(|o| o.id.clone()), Some(format!("M-{:04}", ORDERS_READ + 4)), "the newest");
}

/// Erasure: profile, orders and identity links go, in this tenant only; erasing twice is fine.
async fn erasure(store: &dyn CustomerStore) {
    let a = tenant(&unique("a-"));
    let b = tenant(&unique("b-"));
    let mut ana = customer("c-3001");
    ana.phones = vec!["+34600999888".into()];
    ana.emails = vec!["ana@example.com".into()];
    ana.orders = vec![order("DS-300", "shipped", "2026-11-01")];
    store.put_customer(&a, &ana).await.unwrap_or_else(|e| panic!("put: {e}"));
    store.put_customer(&b, &ana).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert!(store.erase_customer(&a, &ana.id).await.unwrap_or_else(|e| panic!("erase: {e}")), "something was held");
    assert_eq!(load(store, &a, &ana.id).await, None, "the profile is gone");
    assert_eq!(owner(store, &a, "phone:+34600999888").await, None, "the phone identifies nobody");
    assert_eq!(owner(store, &a, "email:ana@example.com").await, None, "the e-mail identifies nobody");
    let refused = store.put_order(&a, &ana.id, &order("DS-301", "new", "2026-11-02")).await;
    assert!(refused.is_err(), "an order arriving after erasure does not bring the customer back");
    assert_eq!(load(store, &a, &ana.id).await, None, "and leaves nothing behind");
    let again = store.erase_customer(&a, &ana.id).await.unwrap_or_else(|e| panic!("erase again: {e}"));
    assert!(!again, "erasing again is not an error, and says nothing was held");
    let kept = load(store, &b, &ana.id).await.unwrap_or_else(|| panic!("another tenant's customer is untouched"));
    assert_eq!(kept.orders.len(), 1);
    assert_eq!(owner(store, &b, "phone:+34600999888").await, Some(ana.id.clone()));

    // A customer re-created after erasure starts empty: no order survived in the store.
    let fresh = customer("c-3001");
    store.put_customer(&a, &fresh).await.unwrap_or_else(|e| panic!("put: {e}"));
    let got = load(store, &a, &fresh.id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert!(got.orders.is_empty(), "no order outlived the erasure: {:?}", got.orders);
}

/// Batched puts (an import) end as one put per customer would, dropped identities included.
async fn batched_puts(store: &dyn CustomerStore) {
    let a = tenant(&unique("a-"));
    let mut batch: Vec<Customer> = (0..60)
        .map(|n| Customer { phones: vec![format!("+3460010{n:04}")], ..customer(&format!("c-b{n:03}")) })
        .collect();
    store.put_customers(&a, &batch).await.unwrap_or_else(|e| panic!("put_customers: {e}"));
    assert_eq!(owner(store, &a, "phone:+34600100059").await, Some(batch[59].id.clone()), "every link written");
    batch[7].phones = vec![];
    batch[7].emails = vec!["seven@example.com".into()];
    batch[8].orders = vec![order("DS-8", "new", "2026-12-01")];
    store.put_customers(&a, &batch).await.unwrap_or_else(|e| panic!("put_customers again: {e}"));
    assert_eq!(owner(store, &a, "phone:+34600100007").await, None, "a re-import unlinks what a row dropped");
    assert_eq!(owner(store, &a, "email:seven@example.com").await, Some(batch[7].id.clone()));
    let eight = load(store, &a, &batch[8].id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert_eq!(eight.orders.len(), 1, "orders in a batch are stored");
}
