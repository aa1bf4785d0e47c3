//! `customers-bench`: what a customer's data costs on the responder's path and in bulk, on
//! DynamoDB Local (docs/benchmarks.md, "The shop's data").
//!
//! - the profile read the responder makes for a verified customer (profile and orders in one
//!   query, [`CustomerStore::customer`]), timed over many reads, with the read units it reports,
//!   beside the layout before Step 12 (one item with the orders inline, one `GetItem`);
//! - a bulk import of N generated customers through `customers import`'s code path, timed, with
//!   its write units, and a second import of the same file.
//!
//!   cargo run --release -p switchboard-tests --bin customers-bench -- [reads] [customers]

use anyhow::Result;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use std::time::Instant;
use switchboard::adapters::aws::{DynamoCustomers, Table};
use switchboard::customers::import::{Format, import};
use switchboard::domain::{Customer, CustomerId, Order, TenantId};
use switchboard::ports::CustomerStore;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut ms: Vec<f64>, units: f64) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{name:<52} p50 {:.2} ms  p99 {:.2} ms  read units per read {:.2}",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        units / ms.len() as f64
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (reads, count) = (args.first().copied().unwrap_or(2_000), args.get(1).copied().unwrap_or(20_000));
    let aws = switchboard_tests::aws::local_aws().await;
    let table = Table::new(aws.clients.dynamodb.clone(), &aws.table);
    let store = DynamoCustomers::new(table);
    let tenant = TenantId::new("bench").unwrap();
    let order = |n: usize| Order {
        id: format!("DS-{n:05}"),
        status: "shipped".into(),
        placed: Some(format!("2026-11-{:02}", 1 + n % 28)),
        eta: Some("2026-12-06".into()),
        tracking: Some(format!("https://track.example/DS-{n:05}")),
        items: Some("2 × Wool sweater - M, 1 × Rain jacket".into()),
        updated: None,
    };
    let customer = Customer {
        id: CustomerId::new("c-bench").unwrap(),
        name: "Ana García".into(),
        tier: "gold".into(),
        language: None,
        orders: (0..5).map(order).collect(),
        attributes: [("city".to_string(), "Sevilla".to_string())].into(),
        phones: vec!["+34600111222".into()],
        emails: vec!["ana@example.com".into()],
    };
    store.put_customer(&tenant, &customer, None).await?;

    // Today's read: profile and orders in one query.
    let (mut ms, mut units) = (Vec::with_capacity(reads), 0.0);
    for _ in 0..reads {
        let started = Instant::now();
        let (found, metered) = switchboard::meter::measure(store.customer(&tenant, &customer.id)).await;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(found?.is_some_and(|c| c.orders.len() == 5), "the profile reads back");
        units += metered.dynamodb_read_milli_units as f64 / 1000.0;
    }
    report("profile + 5 orders, one query (Step 12)", ms, units);

    // Before Step 12: the same profile with its orders inline, one GetItem.
    let data = serde_json::to_string(&customer)?;
    aws.clients
        .dynamodb
        .put_item()
        .table_name(&aws.table)
        .item("pk", AttributeValue::S("T#bench#C#c-inline".into()))
        .item("sk", AttributeValue::S("PROFILE".into()))
        .item("data", AttributeValue::S(data))
        .send()
        .await?;
    let (mut ms, mut units) = (Vec::with_capacity(reads), 0.0);
    for _ in 0..reads {
        let started = Instant::now();
        let out = aws
            .clients
            .dynamodb
            .get_item()
            .table_name(&aws.table)
            .key("pk", AttributeValue::S("T#bench#C#c-inline".into()))
            .key("sk", AttributeValue::S("PROFILE".into()))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        units += out.consumed_capacity().and_then(|c| c.capacity_units()).unwrap_or(0.0);
    }
    report("profile with 5 orders inline, one GetItem (before)", ms, units);

    // Bulk import.
    let mut csv = String::from("id,name,tier,language,phones,emails,city\n");
    for n in 0..count {
        csv.push_str(&format!("c{n:06},Customer {n},standard,en,+1555{n:07},c{n}@shop.example,City {}\n", n % 97));
    }
    for pass in ["first import", "same file again"] {
        let started = Instant::now();
        let (report, metered) =
            switchboard::meter::measure(import(&store, &tenant, None, csv.as_bytes(), Format::Csv, false, &mut |_| {}))
                .await;
        let report = report?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{pass:<16} {} customers in {seconds:.1} s ({:.0}/s): {} calls, {:.0} write units, {:.0} read units",
            report.stored,
            report.stored as f64 / seconds,
            metered.dynamodb_calls,
            metered.dynamodb_write_milli_units as f64 / 1000.0,
            metered.dynamodb_read_milli_units as f64 / 1000.0,
        );
    }
    Ok(())
}
