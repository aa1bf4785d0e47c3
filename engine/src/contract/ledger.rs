//! The cost ledger's contract: records, day totals, tenants' lines of the deployment's month,
//! alerts.

use super::{t0, tenant, unique};
use chrono::Duration as Span;
use switchboard_core::domain::TenantId;

/// The cost ledger: a record replaces the one with its key and the day's totals always equal
/// the sum of the month's records; records come newest first; an alert is raised once; nothing
/// leaks across tenants.
pub async fn cost_ledger(ledger: &dyn switchboard_core::ports::CostLedger) {
    use crate::cost::{Components, CostRecord, Function, Month, Outcome};
    let (a, b) = (tenant(&unique("a")), tenant(&unique("b")));
    let at = t0();
    let month = Month::of(at);
    let record = |tenant: &TenantId, request: &str, minutes: i64, cost: u64, intent: &str| CostRecord {
        request_id: request.to_string(),
        function: Function::Responder,
        item: "m1".into(),
        tenant: tenant.clone(),
        channel: Some(switchboard_core::domain::Channel::Telegram),
        conversation: None,
        at: at + Span::minutes(minutes),
        outcome: Outcome { message: true, answered: true, intent: Some(intent.into()), ..Outcome::default() },
        units: switchboard_core::meter::Metered::default(),
        components: Components { lambda: cost / 2, dynamodb: cost - cost / 2, ..Components::default() },
        cost_nanos: cost,
        price_table: "contract".into(),
        unpriced: Vec::new(),
    };
    let write = |r: CostRecord| async move { ledger.record(&r).await.unwrap_or_else(|e| panic!("cost ledger: {e}")) };
    write(record(&a, "r1", 0, 1_000, "shipping")).await;
    write(record(&a, "r2", 5, 3_001, "returns")).await;
    // A redelivery of r1 that cost more and was classified differently replaces its record.
    write(record(&a, "r1", 0, 1_500, "returns")).await;
    write(record(&b, "r9", 0, 7, "shipping")).await;

    let records = ledger.records(&a, month, 10).await.expect("records");
    let requests: Vec<&str> = records.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(requests, vec!["r2", "r1"], "one record per request, newest first");
    assert_eq!(ledger.records(&a, month, 1).await.expect("records").len(), 1, "the limit holds");
    let days = ledger.days(&a, month).await.expect("days");
    let sum = |name: &str| days.iter().map(|d| d.get(name)).sum::<i64>();
    assert_eq!(sum("total"), 4_501, "totals are the sum of the records");
    assert_eq!(sum("c.lambda") + sum("c.dynamodb"), 4_501);
    assert_eq!((sum("i.returns"), sum("i.shipping")), (4_501, 0), "the replaced record's intent moved");
    assert_eq!(sum("messages"), 2, "a redelivery is still one message");
    assert_eq!(sum("ch.telegram"), 4_501);
    // Each tenant's line of the deployment's month moves by the same differences (other tests'
    // tenants have lines too, so only these tenants' are compared).
    let lines = ledger.lines(month).await.expect("lines");
    let line = |t: &TenantId| lines.iter().find(|l| l.tenant.as_ref() == Some(t)).cloned().unwrap_or_default();
    assert_eq!((line(&a).get("total"), line(&a).get("messages"), line(&a).get("c.lambda")), (4_501, 2, 2_250));
    assert_eq!(line(&a).get("ch.telegram"), 4_501);
    assert!(line(&a).get("i.returns") == 0, "intents stay in the tenant's partition");
    assert_eq!(line(&b).get("total"), 7);

    // Sums added without a record (the deployment's refused requests) add up per day and tenant.
    let sums = std::collections::BTreeMap::from([("requests".to_string(), 2), ("status.401".to_string(), 2)]);
    let day = at.date_naive();
    ledger.add_to_day(&b, month, day, &sums).await.expect("add");
    ledger.add_to_day(&b, month, day, &sums).await.expect("add");
    let b_days = ledger.days(&b, month).await.expect("days");
    assert_eq!(b_days.iter().map(|d| d.get("status.401")).sum::<i64>(), 4);
    assert_eq!(b_days.iter().map(|d| d.get("total")).sum::<i64>(), 7, "beside b's record");
    assert_eq!(ledger.days(&a, month).await.expect("days").iter().map(|d| d.get("requests")).sum::<i64>(), 0);

    assert!(ledger.raise_once(&a, month, "soft", at).await.expect("alert"));
    assert!(!ledger.raise_once(&a, month, "soft", at).await.expect("alert"), "once a month");
    assert!(ledger.raise_once(&b, month, "soft", at).await.expect("alert"), "per tenant");
    let alerts = ledger.alerts(&a, month).await.expect("alerts");
    assert_eq!(alerts.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["soft"]);
    let next = Month::of(at + Span::days(40));
    assert!(ledger.records(&a, next, 10).await.expect("records").is_empty(), "months are apart");
}
