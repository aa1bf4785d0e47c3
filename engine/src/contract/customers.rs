//! The customer store's contract: profiles, identity links, orders, erasure, batched puts.

use super::{kept, lapsed, tenant, unique};
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
    retention(store).await;
}

/// A profile, its links and its orders past their retention are gone for every read at once;
/// an order cannot be added to an expired profile; putting the profile again, even unchanged
/// and in a batch, keeps it anew.
async fn retention(store: &dyn CustomerStore) {
    let t = tenant(&unique("r-"));
    let mut ana = customer("c-ret");
    ana.phones = vec!["+34600999888".into()];
    let phone = "phone:+34600999888";
    store.put_customer(&t, &ana, Some(lapsed())).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(load(store, &t, &ana.id).await, None, "an expired profile is not read");
    assert_eq!(owner(store, &t, phone).await, None, "an expired link finds no one");
    let refused = store.put_order(&t, &ana.id, &order("DS-1", "shipped", "2026-11-01"), Some(kept())).await;
    assert!(matches!(refused, Err(PortError::Rejected { .. })), "no order for an expired profile: {refused:?}");

    store.put_customers(&t, std::slice::from_ref(&ana), Some(kept())).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(load(store, &t, &ana.id).await.as_ref(), Some(&ana), "an unchanged re-import keeps it anew");
    assert_eq!(owner(store, &t, phone).await.as_ref(), Some(&ana.id), "with its links");

    let lapsed_order = order("DS-2", "delivered", "2026-10-01");
    store.put_order(&t, &ana.id, &lapsed_order, Some(lapsed())).await.unwrap_or_else(|e| panic!("order: {e}"));
    store.put_order(&t, &ana.id, &order("DS-3", "shipped", "2026-11-20"), None).await.unwrap_or_else(|e| panic!("{e}"));
    let orders = load(store, &t, &ana.id).await.map(|c| c.orders.into_iter().map(|o| o.id).collect::<Vec<_>>());
    assert_eq!(orders, Some(vec!["DS-3".to_string()]), "an expired order is not read; one kept until erased is");

    store.put_customers(&t, std::slice::from_ref(&ana), Some(lapsed())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(load(store, &t, &ana.id).await, None, "an unchanged re-import shortens a retention too");
    store.put_customer(&t, &ana, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert!(load(store, &t, &ana.id).await.is_some(), "kept until erased");
}

async fn profiles_and_identities(store: &dyn CustomerStore) {
    let a = tenant(&unique("a-"));
    let b = tenant(&unique("b-"));
    let id = CustomerId::new("c-1001").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.customer(&a, &id).await.ok().flatten(), None, "missing reads as None");
    let mut customer = customer(id.as_str());
    store.put_customer(&a, &customer, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(store.customer(&a, &id).await.ok().flatten().as_ref(), Some(&customer), "reads back exactly");
    assert_eq!(store.customer(&b, &id).await.ok().flatten(), None, "another tenant cannot read it");
    customer.tier = "vip".into();
    customer.phones = vec!["+34600111222".into()];
    customer.emails = vec!["Ana@Example.com".into()];
    store.put_customer(&a, &customer, None).await.unwrap_or_else(|e| panic!("put: {e}"));
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
    store.put_customer(&a, &customer, None).await.unwrap_or_else(|e| panic!("put: {e}"));
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
    store.put_customer(&a, &other, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    customer.emails = vec![];
    store.put_customer(&a, &customer, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(found("phone:+34600111222", &a).await, Some(other.id.clone()), "the new owner keeps it");
    assert_eq!(found("email:ana@example.com", &a).await, None, "every dropped identity goes");
}

/// Orders: stored with the profile or one at a time, read back newest first; a profile put keeps
/// the orders it does not carry; an order for nobody is refused.
async fn orders(store: &dyn CustomerStore) {
    let a = tenant(&unique("a-"));
    let mut ana = customer("c-2001");
    ana.orders = vec![order("DS-100", "delivered", "2026-10-01")];
    store.put_customer(&a, &ana, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    let shipped =
        Order { tracking: Some("https://track.example/1Z999".into()), ..order("DS-101", "shipped", "2026-11-20") };
    store.put_order(&a, &ana.id, &shipped, None).await.unwrap_or_else(|e| panic!("put_order: {e}"));
    let got = load(store, &a, &ana.id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert_eq!(got.orders.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["DS-101", "DS-100"], "newest first");
    assert_eq!(got.order("#ds-101"), Some(&shipped), "found by number as customers type it");

    // A profile update without orders (a shop's customers/update) keeps them; one carrying an
    // order replaces that order only.
    ana.orders = vec![];
    ana.name = "Ana G.".into();
    store.put_customer(&a, &ana, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    ana.orders = vec![order("DS-100", "returned", "2026-10-01")];
    store.put_customer(&a, &ana, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    let got = load(store, &a, &ana.id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert_eq!(got.name, "Ana G.");
    let statuses: Vec<_> = got.orders.iter().map(|o| (o.id.as_str(), o.status.as_str())).collect();
    assert_eq!(statuses, [("DS-101", "shipped"), ("DS-100", "returned")], "orders kept and replaced by number");

    let nobody = CustomerId::new("c-nobody").unwrap_or_else(|e| panic!("{e}"));
    let refused = store.put_order(&a, &nobody, &shipped, None).await;
    assert!(matches!(refused, Err(PortError::Rejected { .. })), "an order for nobody is refused: {refused:?}");
    assert_eq!(load(store, &a, &nobody).await, None, "and leaves nothing behind");

    // A customer with years of orders reads back a bounded, newest slice.
    let mut many = customer("c-2002");
    many.orders = (0..ORDERS_READ + 5)
        .map(|n| order(&format!("M-{n:04}"), "delivered", &format!("2020-01-01T00:{n:04}")))
        .collect();
    store.put_customer(&a, &many, None).await.unwrap_or_else(|e| panic!("put: {e}"));
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
    store.put_customer(&a, &ana, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    store.put_customer(&b, &ana, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    let conversation = switchboard_core::domain::ConversationId::new("c_one").unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        store.link_conversation(&a, &ana.id, &conversation).await.unwrap_or_else(|e| panic!("link: {e}"));
    }
    let linked = store.conversations_of(&a, &ana.id).await.unwrap_or_else(|e| panic!("conversations_of: {e}"));
    assert_eq!(linked, std::slice::from_ref(&conversation), "linked once, however often");
    let theirs = store.conversations_of(&b, &ana.id).await.unwrap_or_else(|e| panic!("conversations_of: {e}"));
    assert!(theirs.is_empty(), "not another tenant's");
    assert_eq!(load(store, &a, &ana.id).await.map(|c| c.orders.len()), Some(1), "links are not orders");
    assert!(store.erase_customer(&a, &ana.id).await.unwrap_or_else(|e| panic!("erase: {e}")), "something was held");
    assert_eq!(load(store, &a, &ana.id).await, None, "the profile is gone");
    assert_eq!(owner(store, &a, "phone:+34600999888").await, None, "the phone identifies nobody");
    assert_eq!(owner(store, &a, "email:ana@example.com").await, None, "the e-mail identifies nobody");
    let linked = store.conversations_of(&a, &ana.id).await.unwrap_or_else(|e| panic!("conversations_of: {e}"));
    assert!(linked.is_empty(), "the conversation links go too");
    let refused = store.put_order(&a, &ana.id, &order("DS-301", "new", "2026-11-02"), None).await;
    assert!(refused.is_err(), "an order arriving after erasure does not bring the customer back");
    assert_eq!(load(store, &a, &ana.id).await, None, "and leaves nothing behind");
    let again = store.erase_customer(&a, &ana.id).await.unwrap_or_else(|e| panic!("erase again: {e}"));
    assert!(!again, "erasing again is not an error, and says nothing was held");
    let kept = load(store, &b, &ana.id).await.unwrap_or_else(|| panic!("another tenant's customer is untouched"));
    assert_eq!(kept.orders.len(), 1);
    assert_eq!(owner(store, &b, "phone:+34600999888").await, Some(ana.id.clone()));

    // A customer re-created after erasure starts empty: no order survived in the store.
    let fresh = customer("c-3001");
    store.put_customer(&a, &fresh, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    let got = load(store, &a, &fresh.id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert!(got.orders.is_empty(), "no order outlived the erasure: {:?}", got.orders);
}

/// Batched puts (an import) end as one put per customer would, dropped identities included.
async fn batched_puts(store: &dyn CustomerStore) {
    let a = tenant(&unique("a-"));
    let mut batch: Vec<Customer> = (0..60)
        .map(|n| Customer { phones: vec![format!("+3460010{n:04}")], ..customer(&format!("c-b{n:03}")) })
        .collect();
    store.put_customers(&a, &batch, None).await.unwrap_or_else(|e| panic!("put_customers: {e}"));
    assert_eq!(owner(store, &a, "phone:+34600100059").await, Some(batch[59].id.clone()), "every link written");
    batch[7].phones = vec![];
    batch[7].emails = vec!["seven@example.com".into()];
    batch[8].orders = vec![order("DS-8", "new", "2026-12-01")];
    store.put_customers(&a, &batch, None).await.unwrap_or_else(|e| panic!("put_customers again: {e}"));
    assert_eq!(owner(store, &a, "phone:+34600100007").await, None, "a re-import unlinks what a row dropped");
    assert_eq!(owner(store, &a, "email:seven@example.com").await, Some(batch[7].id.clone()));
    let eight = load(store, &a, &batch[8].id).await.unwrap_or_else(|| panic!("the profile is there"));
    assert_eq!(eight.orders.len(), 1, "orders in a batch are stored");
}

/// A customer's export holds their profile, identities and conversations with every turn; the
/// erasure removes all of it and the conversation ids in their cost records (amounts kept), and
/// running it again finds nothing. Another customer's data is untouched.
pub async fn customer_privacy(held: crate::customers::privacy::Held<'_>) {
    use crate::cost::{Components, CostRecord, Function, Outcome};
    use switchboard_core::domain::{Channel, Conversation, ConversationId, Role};
    let a = tenant(&unique("a-"));
    let at = super::t0();
    let mut ana = customer("c-4001");
    ana.phones = vec!["+34600444555".into()];
    ana.orders = vec![order("DS-400", "shipped", "2026-11-01")];
    let other = Customer { phones: vec![], ..customer("c-4002") };
    for c in [&ana, &other] {
        held.customers.put_customer(&a, c, None).await.unwrap_or_else(|e| panic!("put: {e}"));
    }
    let theirs = ConversationId::new(unique("c_ana")).unwrap_or_else(|e| panic!("{e}"));
    let kept = ConversationId::new(unique("c_other")).unwrap_or_else(|e| panic!("{e}"));
    let mut record_of = Vec::new();
    for (who, conversation) in [(&ana.id, &theirs), (&other.id, &kept)] {
        let c = Conversation::new(conversation.clone(), a.clone(), Channel::TwilioSms, "+34600444555".into(), at);
        held.conversations.create_conversation(&c).await.unwrap_or_else(|e| panic!("create: {e}"));
        for (n, text) in ["Where is DS-400?", "Your order DS-400 is shipped."].iter().enumerate() {
            let role = if n == 0 { Role::Customer } else { Role::Bot };
            let turn = super::turn(at + chrono::Duration::seconds(n as i64), role, text);
            held.conversations
                .append_turn(&a, conversation, &turn, super::kept())
                .await
                .unwrap_or_else(|e| panic!("turn: {e}"));
        }
        held.customers.link_conversation(&a, who, conversation).await.unwrap_or_else(|e| panic!("link: {e}"));
        let record = CostRecord {
            request_id: unique("r"),
            function: Function::Responder,
            item: "m1".into(),
            tenant: a.clone(),
            channel: Some(Channel::TwilioSms),
            conversation: Some(conversation.clone()),
            at,
            outcome: Outcome { message: true, answered: true, ..Outcome::default() },
            units: switchboard_core::meter::Metered::default(),
            components: Components { lambda: 700, ..Components::default() },
            cost_nanos: 700,
            price_table: "contract".into(),
            unpriced: Vec::new(),
        };
        held.ledger.record(&record).await.unwrap_or_else(|e| panic!("record: {e}"));
        record_of.push(record);
    }

    let export = held.export(&a, &ana.id, at).await.unwrap_or_else(|e| panic!("export: {e}"));
    let export = export.unwrap_or_else(|| panic!("Ana is held"));
    assert_eq!(export.profile.orders.len(), 1);
    assert_eq!(export.identities, ["phone:+34600444555"]);
    assert_eq!(export.conversations.len(), 1, "her conversation, not the other customer's");
    assert_eq!(export.conversations[0].conversation.id, theirs);
    assert_eq!(export.conversations[0].turns.len(), 2, "with every turn");
    let unknown = CustomerId::new("c-nobody").unwrap_or_else(|e| panic!("{e}"));
    assert!(held.export(&a, &unknown, at).await.unwrap_or_else(|e| panic!("export: {e}")).is_none());

    let month = crate::cost::Month::of(at);
    let days_before = held.ledger.days(&a, month).await.unwrap_or_else(|e| panic!("days: {e}"));
    let erased = held.erase(&a, &ana.id, at).await.unwrap_or_else(|e| panic!("erase: {e}"));
    assert_eq!((erased.profile, erased.conversations, erased.cost_records), (true, 1, 1), "{erased:?}");
    assert!(held.customers.customer(&a, &ana.id).await.unwrap_or_else(|e| panic!("{e}")).is_none());
    assert!(held.conversations.conversation(&a, &theirs).await.unwrap_or_else(|e| panic!("{e}")).is_none());
    let turns = held.conversations.turns_after(&a, &theirs, None, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(turns.is_empty(), "her turns are gone");
    let records = held.ledger.records(&a, month, 100).await.unwrap_or_else(|e| panic!("records: {e}"));
    let find = |r: &CostRecord| records.iter().find(|s| s.request_id == r.request_id).cloned();
    let scrubbed = find(&record_of[0]).unwrap_or_else(|| panic!("the record stays"));
    assert_eq!((scrubbed.conversation, scrubbed.cost_nanos), (None, 700), "no link to her; the amount stays");
    assert_eq!(find(&record_of[1]).and_then(|r| r.conversation), Some(kept.clone()), "others keep theirs");
    let days_after = held.ledger.days(&a, month).await.unwrap_or_else(|e| panic!("days: {e}"));
    assert_eq!(days_before, days_after, "the month's totals still add up");
    assert!(held.conversations.conversation(&a, &kept).await.unwrap_or_else(|e| panic!("{e}")).is_some());

    let again = held.erase(&a, &ana.id, at).await.unwrap_or_else(|e| panic!("erase again: {e}"));
    assert_eq!(again, crate::customers::privacy::Erasure::default(), "idempotent: nothing left to erase");
}
