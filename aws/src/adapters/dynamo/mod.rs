//! DynamoDB adapters over one table (`pk`/`sk` strings, TTL attribute `ttl`), keys as in
//! DESIGN.md: every key starts with the tenant, so no code path can read across tenants. Every
//! call asks for consumed capacity and reports it to the request's meter.

mod allowances;
mod conversations;
mod customers;
mod idempotency;
mod ledger;
mod tenants;
mod tickets;

pub use allowances::*;
pub use conversations::*;
pub use customers::*;
pub use idempotency::*;
pub use ledger::*;
pub use tenants::*;
pub use tickets::*;

use super::unavailable;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConsumedCapacity, KeySchemaElement, KeyType, LocalSecondaryIndex,
    Projection, ProjectionType, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TimeToLiveSpecification,
};
use switchboard_core::domain::{
    Channel, Conversation, ConversationId, ConversationState, Customer, CustomerId, Language, MessageId, TenantId,
    TicketRef, Turn, TurnCursor,
};
use switchboard_core::keys::partition;
use switchboard_core::meter::{milli_units, report};
use switchboard_core::ports::CostLedger;
use switchboard_core::ports::{
    Activity, Claim, ConversationStore, CustomerStore, IdempotencyKey, IdempotencyStore, KeepUntil, PortError,
    SecretStore, TicketStore,
};
use switchboard_engine::classify::IntentModel;
use switchboard_engine::cost::{CostRecord, DayTotals, Month};
use switchboard_engine::tenant::Tenant;
use switchboard_engine::tenant::TenantDirectory;

/// The local secondary index that orders a conversation's turns as they were written.
pub const TURNS_BY_SEQ: &str = "by_seq";
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// The table and the client that reaches it.
#[derive(Debug, Clone)]
pub struct Table {
    client: Client,
    name: String,
}

impl Table {
    /// The table `name`.
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self { client, name: name.into() }
    }
}

/// Creates the table (on-demand, TTL on `ttl`) if it does not exist: for tests and local runs;
/// production tables come from the SAM template.
pub async fn create_table(client: &Client, name: &str) -> Result<(), PortError> {
    let def = |n: &str, t| AttributeDefinition::builder().attribute_name(n).attribute_type(t).build();
    let key = |n: &str, t| KeySchemaElement::builder().attribute_name(n).key_type(t).build();
    let built = (|| {
        let by_seq = LocalSecondaryIndex::builder()
            .index_name(TURNS_BY_SEQ)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("seq", KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()?;
        Ok::<_, aws_sdk_dynamodb::error::BuildError>((
            [
                def("pk", ScalarAttributeType::S)?,
                def("sk", ScalarAttributeType::S)?,
                def("seq", ScalarAttributeType::N)?,
            ],
            key("pk", KeyType::Hash)?,
            key("sk", KeyType::Range)?,
            by_seq,
        ))
    })();
    let (defs, hash, range, by_seq) = built.map_err(|e| PortError::Corrupt { port: "table", detail: e.to_string() })?;
    let created = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(defs.to_vec()))
        .key_schema(hash)
        .key_schema(range)
        .local_secondary_indexes(by_seq)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => return Err(unavailable("table", e)),
    }
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name("ttl")
        .build()
        .map_err(|e| PortError::Corrupt { port: "table", detail: e.to_string() })?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| unavailable("table", e))?;
    Ok(())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n_(v: usize) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The `ttl` attribute DynamoDB's TTL deletes by (epoch seconds) for an item kept until `keep`;
/// none when it is kept until erased.
fn with_keep(mut item: Item, keep: KeepUntil) -> Item {
    if let Some(until) = keep {
        item.insert("ttl".into(), n(until.timestamp()));
    }
    item
}

/// Until when a stored item is kept, by its `ttl`.
fn kept_until(item: &Item) -> KeepUntil {
    let seconds = item.get("ttl").and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok())?;
    DateTime::from_timestamp(seconds, 0)
}

/// Whether a stored item has expired: the TTL deletes it within days, reads treat it as gone now.
fn expired(item: &Item) -> bool {
    switchboard_core::ports::expired(kept_until(item), Utc::now())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn corrupt(port: &'static str, detail: impl std::fmt::Display) -> PortError {
    PortError::Corrupt { port, detail: detail.to_string() }
}

fn json<T: serde::de::DeserializeOwned>(port: &'static str, item: &Item, name: &str) -> Result<T, PortError> {
    let raw = text(item, name).ok_or_else(|| corrupt(port, format!("missing `{name}`")))?;
    serde_json::from_str(raw).map_err(|e| corrupt(port, e))
}

fn to_json(port: &'static str, value: &impl serde::Serialize) -> Result<String, PortError> {
    serde_json::to_string(value).map_err(|e| corrupt(port, e))
}

fn meter(capacity: Option<&ConsumedCapacity>, write: bool) {
    let units = milli_units(capacity.and_then(|c| c.capacity_units()));
    report(|m| {
        m.dynamodb_calls += 1;
        if write {
            m.dynamodb_write_milli_units += units;
        } else {
            m.dynamodb_read_milli_units += units;
        }
    });
}

/// A conditional write whose condition failed: DynamoDB bills it one write unit, but the error
/// carries no consumed capacity to read it from.
fn refused_write() {
    report(|m| {
        m.dynamodb_calls += 1;
        m.dynamodb_write_milli_units += 1000;
    });
}

fn conversation_pk(tenant: &TenantId, id: &ConversationId) -> String {
    partition::conversation(tenant, id)
}

impl Table {
    async fn get(&self, port: &'static str, pk: String, sk: &str) -> Result<Option<Item>, PortError> {
        self.read(port, pk, sk, true).await
    }

    async fn read(
        &self,
        port: &'static str,
        pk: String,
        sk: &str,
        consistent: bool,
    ) -> Result<Option<Item>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable(port, e))?;
        meter(out.consumed_capacity(), false);
        Ok(out.item().cloned())
    }

    async fn put(&self, port: &'static str, item: Item) -> Result<(), PortError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable(port, e))?;
        meter(out.consumed_capacity(), true);
        Ok(())
    }

    async fn delete(&self, port: &'static str, pk: String, sk: &str) -> Result<(), PortError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.name)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable(port, e))?;
        meter(out.consumed_capacity(), true);
        Ok(())
    }

    /// Items of partition `pk` whose sort key matches, in sort order or reversed, at most `limit`.
    async fn query(
        &self,
        port: &'static str,
        pk: String,
        sort: SortKey,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<Item>, PortError> {
        self.query_with(port, pk, sort, forward, limit, true).await
    }

    /// [`Self::query`] choosing the read's consistency: items that never change once written (a
    /// stored model's parts) take an eventually consistent read, half the read units.
    async fn query_with(
        &self,
        port: &'static str,
        pk: String,
        sort: SortKey,
        forward: bool,
        limit: usize,
        consistent: bool,
    ) -> Result<Vec<Item>, PortError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.name)
                .expression_attribute_values(":pk", s(pk.clone()))
                .consistent_read(consistent)
                .scan_index_forward(forward)
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start.take());
            q = match &sort {
                SortKey::Prefix(p) => q
                    .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                    .expression_attribute_values(":p", s(p.clone())),
                SortKey::Any => q.key_condition_expression("pk = :pk"),
            };
            let out = q.send().await.map_err(|e| unavailable(port, e))?;
            meter(out.consumed_capacity(), false);
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if items.len() < limit => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }
}

/// Items one `BatchWriteItem` takes, and keys one `BatchGetItem` takes (DynamoDB's limits).
const BATCH_WRITE: usize = 25;
const BATCH_GET: usize = 100;
/// How often unprocessed items of a batch are sent again (with a growing pause) before the
/// batch is reported unavailable.
const BATCH_RETRIES: u32 = 8;

impl Table {
    /// Writes `items` (distinct keys) in batches of 25, sending unprocessed items again: the
    /// bulk path of an import, a twenty-fifth of the calls of one put per item.
    async fn put_all(&self, port: &'static str, items: Vec<Item>) -> Result<(), PortError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut requests = Vec::with_capacity(items.len());
        for item in items {
            let put = PutRequest::builder().set_item(Some(item)).build().map_err(|e| corrupt(port, e))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for chunk in requests.chunks(BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            for attempt in 0..=BATCH_RETRIES {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.name, pending)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| unavailable(port, e))?;
                out.consumed_capacity().iter().for_each(|c| meter(Some(c), true));
                pending = out.unprocessed_items().and_then(|u| u.get(&self.name)).cloned().unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == BATCH_RETRIES {
                    return Err(PortError::Unavailable { port, detail: "batch writes kept being throttled".into() });
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
            }
        }
        Ok(())
    }

    /// The items at `keys` (pk, sk) that exist, read in batches of 100 (consistent reads).
    async fn get_all(&self, port: &'static str, keys: Vec<(String, String)>) -> Result<Vec<Item>, PortError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET) {
            let mut pending: Vec<Item> =
                chunk.iter().map(|(pk, sk)| Item::from([("pk".into(), s(pk)), ("sk".into(), s(sk))])).collect();
            for attempt in 0..=BATCH_RETRIES {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| corrupt(port, e))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, request)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| unavailable(port, e))?;
                out.consumed_capacity().iter().for_each(|c| meter(Some(c), false));
                found.extend(out.responses().and_then(|r| r.get(&self.name)).cloned().unwrap_or_default());
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.name))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == BATCH_RETRIES {
                    return Err(PortError::Unavailable { port, detail: "batch reads kept being throttled".into() });
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
            }
        }
        Ok(found)
    }
}

/// Which sort keys a query wants.
enum SortKey {
    /// All of the partition.
    Any,
    /// Starting with this.
    Prefix(String),
}

fn conditional_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E>,
) -> bool {
    e.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// Outputs of writes, which all report consumed capacity.
trait Consumed {
    fn capacity(&self) -> Option<&ConsumedCapacity>;
}

macro_rules! consumed {
    ($($t:ty),*) => {$(
        impl Consumed for $t {
            fn capacity(&self) -> Option<&ConsumedCapacity> {
                self.consumed_capacity()
            }
        }
    )*};
}

consumed!(
    aws_sdk_dynamodb::operation::put_item::PutItemOutput,
    aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
    aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput
);

/// The result of a conditional write: metered when it went through, `when_condition_fails` when
/// its condition did not hold, `Unavailable` otherwise.
fn conditional_write<
    O: Consumed,
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
>(
    port: &'static str,
    result: Result<O, aws_sdk_dynamodb::error::SdkError<E>>,
    when_condition_fails: Result<(), PortError>,
) -> Result<(), PortError> {
    match result {
        Ok(out) => {
            meter(out.capacity(), true);
            Ok(())
        }
        Err(e) if conditional_failed(&e) => {
            refused_write();
            when_condition_fails
        }
        Err(e) => Err(unavailable(port, e)),
    }
}
