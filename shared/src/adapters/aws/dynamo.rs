//! DynamoDB adapters over one table (`pk`/`sk` strings, TTL attribute `ttl`), keys as in
//! DESIGN.md: every key starts with the tenant, so no code path can read across tenants. Every
//! call asks for consumed capacity and reports it to the request's meter.

use super::unavailable;
use crate::classify::IntentModel;
use crate::cost::{CostRecord, DayTotals, Month};
use crate::domain::{
    Channel, Conversation, ConversationId, ConversationState, Customer, CustomerId, Language, MessageId, TenantId,
    TicketRef, Turn, TurnCursor,
};
use crate::keys::partition;
use crate::meter::{milli_units, report};
use crate::ports::CostLedger;
use crate::ports::{
    Activity, Claim, ConversationStore, CustomerStore, IdempotencyKey, IdempotencyStore, PortError, SecretStore,
    TenantDirectory, TicketStore,
};
use crate::tenant::{Tenant, TenantConfig};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConsumedCapacity, KeySchemaElement, KeyType, LocalSecondaryIndex,
    Projection, ProjectionType, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TimeToLiveSpecification,
};

/// The local secondary index that orders a conversation's turns as they were written.
pub const TURNS_BY_SEQ: &str = "by_seq";
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Item = HashMap<String, AttributeValue>;

/// How long conversation turns are kept.
const TURN_RETENTION: chrono::Duration = chrono::Duration::days(90);

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

/// Which sort keys a query wants.
enum SortKey {
    /// All of the partition.
    Any,
    /// Starting with this.
    Prefix(String),
}

/// Conversations (`T#{tenant}#V#{id}` / `STATE`) and their turns (`TURN#{cursor}`, with TTL).
#[derive(Debug, Clone)]
pub struct DynamoConversations {
    table: Table,
}

impl DynamoConversations {
    /// Conversations in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const CONVERSATIONS: &str = "conversation store";

fn conversation_item(c: &Conversation) -> Result<Item, PortError> {
    let mut item = Item::from([
        ("pk".to_string(), s(conversation_pk(&c.tenant, &c.id))),
        ("sk".to_string(), s("STATE")),
        ("channel".to_string(), s(c.channel.as_str())),
        ("address".to_string(), s(c.address.clone())),
        ("owner_state".to_string(), s(to_json(CONVERSATIONS, &c.state)?)),
        ("started_at".to_string(), s(c.started_at.to_rfc3339())),
    ]);
    if let Some(customer) = &c.customer {
        item.insert("customer".into(), s(customer.as_str()));
    }
    if let Some(language) = c.language {
        item.insert("language".into(), s(language.code()));
    }
    if let Some(at) = c.last_inbound_at {
        item.insert("last_inbound_at".into(), s(at.to_rfc3339()));
    }
    if let Some(thread) = &c.thread {
        item.insert("thread".into(), s(thread.clone()));
    }
    Ok(item)
}

fn time(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, PortError> {
    text(item, name)
        .map(|t| DateTime::parse_from_rfc3339(t).map(|d| d.with_timezone(&Utc)).map_err(|e| corrupt(CONVERSATIONS, e)))
        .transpose()
}

fn conversation_from(tenant: &TenantId, id: &ConversationId, item: &Item) -> Result<Conversation, PortError> {
    let channel: Channel =
        serde_json::from_value(serde_json::Value::String(text(item, "channel").unwrap_or_default().into()))
            .map_err(|e| corrupt(CONVERSATIONS, e))?;
    Ok(Conversation {
        id: id.clone(),
        tenant: tenant.clone(),
        channel,
        address: text(item, "address").unwrap_or_default().to_string(),
        customer: text(item, "customer").map(CustomerId::new).transpose().map_err(|e| corrupt(CONVERSATIONS, e))?,
        state: json(CONVERSATIONS, item, "owner_state")?,
        language: text(item, "language").and_then(Language::from_code),
        started_at: time(item, "started_at")?.ok_or_else(|| corrupt(CONVERSATIONS, "missing started_at"))?,
        last_inbound_at: time(item, "last_inbound_at")?,
        thread: text(item, "thread").map(str::to_string),
    })
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

#[async_trait]
impl ConversationStore for DynamoConversations {
    async fn conversation(&self, tenant: &TenantId, id: &ConversationId) -> Result<Option<Conversation>, PortError> {
        let item = self.table.get(CONVERSATIONS, conversation_pk(tenant, id), "STATE").await?;
        item.map(|i| conversation_from(tenant, id, &i)).transpose()
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), PortError> {
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(conversation_item(conversation)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        conditional_write(CONVERSATIONS, out, Err(PortError::Conflict { port: CONVERSATIONS }))
    }

    async fn record_activity(
        &self,
        tenant: &TenantId,
        id: &ConversationId,
        activity: &Activity,
    ) -> Result<(), PortError> {
        let mut update = "SET #lang = :lang, last_inbound_at = :at".to_string();
        let mut request = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(conversation_pk(tenant, id)))
            .key("sk", s("STATE"))
            .expression_attribute_names("#lang", "language")
            .expression_attribute_values(":lang", s(activity.language.code()))
            .expression_attribute_values(":at", s(activity.last_inbound_at.to_rfc3339()))
            .condition_expression("attribute_exists(pk)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if let Some(thread) = &activity.thread {
            update.push_str(", thread = :thread");
            request = request.expression_attribute_values(":thread", s(thread.clone()));
        }
        if let Some(customer) = &activity.customer {
            // Bound once, never replaced.
            update.push_str(", customer = if_not_exists(customer, :c)");
            request = request.expression_attribute_values(":c", s(customer.as_str()));
        }
        conditional_write(
            CONVERSATIONS,
            request.update_expression(update).send().await,
            Err(corrupt(CONVERSATIONS, "no such conversation")),
        )
    }

    async fn transition(
        &self,
        tenant: &TenantId,
        id: &ConversationId,
        from: &ConversationState,
        to: &ConversationState,
    ) -> Result<(), PortError> {
        let out = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(conversation_pk(tenant, id)))
            .key("sk", s("STATE"))
            .update_expression("SET owner_state = :to")
            .condition_expression("owner_state = :from")
            .expression_attribute_values(":from", s(to_json(CONVERSATIONS, from)?))
            .expression_attribute_values(":to", s(to_json(CONVERSATIONS, to)?))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        conditional_write(CONVERSATIONS, out, Err(PortError::Conflict { port: CONVERSATIONS }))
    }

    /// One DeleteItem per item, not a BatchWriteItem: this rolls back a conversation just
    /// created (one item, no turns yet), and the inbound function is granted DeleteItem only.
    async fn delete_conversation(&self, tenant: &TenantId, id: &ConversationId) -> Result<(), PortError> {
        let pk = conversation_pk(tenant, id);
        let items = self.table.query(CONVERSATIONS, pk.clone(), SortKey::Any, true, usize::MAX).await?;
        for sk in items.iter().filter_map(|item| text(item, "sk")) {
            self.table.delete(CONVERSATIONS, pk.clone(), sk).await?;
        }
        Ok(())
    }

    async fn append_turn(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        turn: &Turn,
    ) -> Result<(), PortError> {
        let pk = conversation_pk(tenant, conversation);
        let sk = format!("TURN#{}", turn.cursor.as_str());
        let expires = (turn.at + TURN_RETENTION).timestamp();
        let data = to_json(CONVERSATIONS, &Turn { seq: 0, ..turn.clone() })?;
        // The conversation's next number, then one write that keeps the number a rewrite (a
        // redelivery, the delivered mark) already has: two writes either way, and a rewrite
        // leaves a gap, which the poll does not mind. Writes to one conversation are serial
        // (its FIFO group), so numbers follow the order turns were first written.
        let counted = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(pk.clone()))
            .key("sk", s("SEQ"))
            .update_expression("ADD written :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable(CONVERSATIONS, e))?;
        meter(counted.consumed_capacity(), true);
        let seq = counted
            .attributes()
            .and_then(|a| a.get("written"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| corrupt(CONVERSATIONS, "turn counter without a number"))?;
        let written = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET #data = :data, #ttl = :ttl, seq = if_not_exists(seq, :seq)")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":data", s(data))
            .expression_attribute_values(":ttl", n(expires))
            .expression_attribute_values(":seq", n(seq))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable(CONVERSATIONS, e))?;
        meter(written.consumed_capacity(), true);
        Ok(())
    }

    async fn turn(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        cursor: &TurnCursor,
    ) -> Result<Option<Turn>, PortError> {
        let item = self
            .table
            .get(CONVERSATIONS, conversation_pk(tenant, conversation), &format!("TURN#{}", cursor.as_str()))
            .await?;
        item.as_ref().map(turn_from).transpose()
    }

    async fn turns_after(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Turn>, PortError> {
        let after = i64::try_from(after.unwrap_or(0)).unwrap_or(i64::MAX);
        let out = self
            .table
            .client
            .query()
            .table_name(&self.table.name)
            .index_name(TURNS_BY_SEQ)
            .key_condition_expression("pk = :pk AND seq > :after")
            .expression_attribute_values(":pk", s(conversation_pk(tenant, conversation)))
            .expression_attribute_values(":after", n(after))
            .scan_index_forward(true)
            // The poll must see the turn the responder just wrote.
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable(CONVERSATIONS, e))?;
        meter(out.consumed_capacity(), false);
        out.items().iter().map(turn_from).collect()
    }

    async fn recent_turns(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        limit: usize,
    ) -> Result<Vec<Turn>, PortError> {
        let items = self
            .table
            .query(CONVERSATIONS, conversation_pk(tenant, conversation), SortKey::Prefix("TURN#".into()), false, limit)
            .await?;
        let mut turns = items.iter().map(turn_from).collect::<Result<Vec<_>, _>>()?;
        turns.reverse();
        Ok(turns)
    }
}

/// A stored turn: its JSON, and its place in the written order.
fn turn_from(item: &Item) -> Result<Turn, PortError> {
    let turn: Turn = json(CONVERSATIONS, item, "data")?;
    let seq = item.get("seq").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Turn { seq, ..turn })
}

/// Customer profiles (`T#{tenant}#C#{id}` / `PROFILE`).
#[derive(Debug, Clone)]
pub struct DynamoCustomers {
    table: Table,
}

impl DynamoCustomers {
    /// Profiles in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const CUSTOMERS: &str = "customer store";

#[async_trait]
impl CustomerStore for DynamoCustomers {
    async fn customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Option<Customer>, PortError> {
        let item = self.table.get(CUSTOMERS, partition::customer(tenant, id), "PROFILE").await?;
        item.map(|i| json(CUSTOMERS, &i, "data")).transpose()
    }

    async fn put_customer(&self, tenant: &TenantId, customer: &Customer) -> Result<(), PortError> {
        let before = self.customer(tenant, &customer.id).await?;
        let item = Item::from([
            ("pk".to_string(), s(partition::customer(tenant, &customer.id))),
            ("sk".to_string(), s("PROFILE")),
            ("data".to_string(), s(to_json(CUSTOMERS, customer)?)),
        ]);
        self.table.put(CUSTOMERS, item).await?;
        for identity in customer.identities() {
            let link = Item::from([
                ("pk".to_string(), s(partition::identity(tenant, identity))),
                ("sk".to_string(), s("IDENTITY")),
                ("customer".to_string(), s(customer.id.as_str())),
            ]);
            self.table.put(CUSTOMERS, link).await?;
        }
        // Links the profile no longer lists go, unless another customer has taken them since.
        let now = customer.identities();
        for dropped in before.map(|c| c.identities()).unwrap_or_default().into_iter().filter(|i| !now.contains(i)) {
            let out = self
                .table
                .client
                .delete_item()
                .table_name(&self.table.name)
                .key("pk", s(partition::identity(tenant, dropped)))
                .key("sk", s("IDENTITY"))
                .condition_expression("customer = :me")
                .expression_attribute_values(":me", s(customer.id.as_str()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            conditional_write(CUSTOMERS, out, Ok(()))?;
        }
        Ok(())
    }

    async fn customer_for(&self, tenant: &TenantId, identity: &str) -> Result<Option<CustomerId>, PortError> {
        let item = self.table.get(CUSTOMERS, partition::identity(tenant, identity), "IDENTITY").await?;
        item.and_then(|i| text(&i, "customer").map(CustomerId::new)).transpose().map_err(|e| corrupt(CUSTOMERS, e))
    }
}

/// Idempotency records with the semantics of Powertools for AWS Lambda: a conditional
/// in-progress lock that expires, a completed record holding the response, both with TTL.
#[derive(Debug, Clone)]
pub struct DynamoIdempotency {
    table: Table,
}

impl DynamoIdempotency {
    /// Records in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const IDEMPOTENCY: &str = "idempotency store";

fn deadline(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(365))
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn claim(&self, key: &IdempotencyKey, now: DateTime<Utc>, lock_for: Duration) -> Result<Claim, PortError> {
        let until = deadline(now, lock_for);
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item("pk", s(key.0.clone()))
            .item("sk", s("IDEMPOTENCY"))
            .item("status", s("INPROGRESS"))
            .item("lock_expires_ms", n(until.timestamp_millis()))
            // TTL is lazy (deleted within days), so expiry is also checked in the condition.
            .item("ttl", n(until.timestamp() + 3600))
            .condition_expression(
                "attribute_not_exists(pk) \
                 OR (#status = :inprogress AND lock_expires_ms < :now_ms) \
                 OR (#status = :completed AND #ttl < :now_s)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":inprogress", s("INPROGRESS"))
            .expression_attribute_values(":completed", s("COMPLETED"))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .expression_attribute_values(":now_s", n(now.timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(out) => {
                meter(out.consumed_capacity(), true);
                Ok(Claim::Acquired)
            }
            Err(e) if conditional_failed(&e) => {
                refused_write();
                let old = e.as_service_error().and_then(|e| match e {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                        c.item().cloned()
                    }
                    _ => None,
                });
                match old {
                    Some(item) if text(&item, "status") == Some("COMPLETED") => {
                        Ok(Claim::Completed(json(IDEMPOTENCY, &item, "response")?))
                    }
                    _ => Ok(Claim::InProgress),
                }
            }
            Err(e) => Err(unavailable(IDEMPOTENCY, e)),
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        response: &serde_json::Value,
        now: DateTime<Utc>,
        keep_for: Duration,
    ) -> Result<(), PortError> {
        let item = Item::from([
            ("pk".to_string(), s(key.0.clone())),
            ("sk".to_string(), s("IDEMPOTENCY")),
            ("status".to_string(), s("COMPLETED")),
            ("response".to_string(), s(to_json(IDEMPOTENCY, response)?)),
            ("ttl".to_string(), n(deadline(now, keep_for).timestamp())),
        ]);
        self.table.put(IDEMPOTENCY, item).await
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        let out = self
            .table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key("pk", s(key.0.clone()))
            .key("sk", s("IDEMPOTENCY"))
            .condition_expression("#status = :inprogress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":inprogress", s("INPROGRESS"))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        // A completed (or already gone) record has nothing to release.
        conditional_write(IDEMPOTENCY, out, Ok(()))
    }
}

/// Tenant configurations (`T#{tenant}` / `CONFIG`, the YAML text), compiled on first use and
/// cached per cold start for `ttl`; SSM references resolved through `secrets`.
pub struct DynamoTenants {
    table: Table,
    secrets: Arc<dyn SecretStore>,
    ttl: Duration,
    cache: Mutex<HashMap<TenantId, Cached>>,
    cache_limit: usize,
    /// Each loaded tenant's intent model and the digest of the YAML it belongs to.
    models: Mutex<HashMap<TenantId, (String, IntentModel)>>,
    /// Origins tenants' API bases may use besides their providers' hosts.
    allowed_endpoints: Vec<String>,
    /// Whether SSM references are resolved; a function that verifies and sends nothing (the
    /// public long poll) reads none of the tenants' secrets, and may not.
    resolve_secrets: bool,
}

/// Most tenant lookups cached per instance. Unknown ids are cached too (garbage ids must not make
/// every request a read), so without a bound a stream of random ids would grow memory until the
/// instance dies.
pub const TENANT_CACHE_LIMIT: usize = 10_000;

impl std::fmt::Debug for DynamoTenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoTenants").field("table", &self.table.name).finish()
    }
}

const TENANTS: &str = "tenant directory";

/// A stored intent model is split into items of this size (DynamoDB items stop at 400 KB)...
const MODEL_PART_BYTES: usize = 390 * 1024;
/// ...and at most this many (6 MB, a catalogue of thousands of examples); a larger model is
/// trained at load instead.
const MAX_MODEL_PARTS: usize = 16;

/// The sort-key prefix of the parts of the model trained from YAML with this digest.
fn model_prefix(digest: &str) -> String {
    format!("MODEL#{digest}#")
}

/// Which YAML a stored model was trained from.
fn yaml_digest(yaml: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(yaml.as_bytes()))
}

/// A key nobody knows, standing in for a secret a function may not read.
fn withheld_secret() -> crate::tenant::Secret {
    let mut bytes = [0u8; 32];
    // Without randomness the key would be guessable: an empty one instead fails the compile.
    let filled = getrandom::fill(&mut bytes).is_ok();
    crate::tenant::Secret::new(if filled { format!("withheld-{}", hex::encode(bytes)) } else { String::new() })
}

/// A cached lookup: the tenant, its absence, or why it cannot be loaded; and when it was read.
type Cached = (Result<Option<Arc<Tenant>>, PortError>, Instant);

impl DynamoTenants {
    /// Tenants in `table`, cached for `ttl`.
    pub fn new(table: Table, secrets: Arc<dyn SecretStore>, ttl: Duration) -> Self {
        Self::with_cache_limit(table, secrets, ttl, TENANT_CACHE_LIMIT)
    }

    /// The same, caching at most `cache_limit` lookups.
    pub fn with_cache_limit(table: Table, secrets: Arc<dyn SecretStore>, ttl: Duration, cache_limit: usize) -> Self {
        let (cache, models) = (Mutex::new(HashMap::new()), Mutex::new(HashMap::new()));
        Self {
            table,
            secrets,
            ttl,
            cache,
            cache_limit: cache_limit.max(1),
            models,
            allowed_endpoints: Vec::new(),
            resolve_secrets: true,
        }
    }

    /// The same, leaving every SSM reference unresolved: the tenant's secrets stay names, which
    /// verify and sign nothing (an empty key is refused everywhere).
    pub fn without_secrets(mut self) -> Self {
        self.resolve_secrets = false;
        self
    }

    /// The same, letting tenants' API bases use these origins too (the operator's setting).
    pub fn allowing_endpoints(mut self, origins: Vec<String>) -> Self {
        self.allowed_endpoints = origins;
        self
    }

    /// Refuses a configuration that names another tenant's secrets or sends to a host off its
    /// providers' (before any secret is read).
    fn check_references(&self, config: &TenantConfig, source: &str) -> Result<(), PortError> {
        let problems = config.reference_problems(&self.allowed_endpoints);
        if problems.is_empty() {
            return Ok(());
        }
        let error = crate::tenant::ConfigError { source_name: source.to_string(), problems };
        Err(PortError::Misconfigured { port: TENANTS, detail: error.to_string() })
    }

    /// How many lookups are cached now.
    pub fn cached(&self) -> usize {
        crate::adapters::lock(&self.cache).len()
    }

    /// Caches a lookup within the limit: when full, expired entries and unknown ids go first,
    /// then everything (known tenants are few and cheap to read again).
    fn remember(&self, id: &TenantId, tenant: Result<Option<Arc<Tenant>>, PortError>) {
        let mut cache = crate::adapters::lock(&self.cache);
        if cache.len() >= self.cache_limit {
            cache.retain(|_, (t, at)| matches!(t, Ok(Some(_))) && at.elapsed() < self.ttl);
        }
        if cache.len() >= self.cache_limit {
            cache.clear();
        }
        cache.insert(id.clone(), (tenant, Instant::now()));
    }

    /// Stores a tenant's YAML after checking it parses (ops and tests; secrets stay references),
    /// and the intent model trained from it in items of its own, `MODEL#{digest of the YAML}#{part}`:
    /// a cold start reads the model instead of training it (docs/benchmarks.md, "Cold starts"), and a model
    /// is never used with YAML it was not trained from. The previous YAML's model is removed.
    pub async fn put_config(&self, yaml: &str) -> Result<TenantId, PortError> {
        let config = TenantConfig::from_yaml("tenant", yaml).map_err(|e| corrupt(TENANTS, e))?;
        let id = TenantId::new(config.id.clone()).map_err(|e| corrupt(TENANTS, e))?;
        self.check_references(&config, &format!("tenant {id}"))?;
        let model = config.train_intents().map_err(|e| corrupt(TENANTS, e))?;
        let previous = self.table.get(TENANTS, partition::tenant(&id), "CONFIG").await?;
        let digest = yaml_digest(yaml);
        self.put_model(&id, &digest, &model).await?;
        let item = Item::from([
            ("pk".to_string(), s(partition::tenant(&id))),
            ("sk".to_string(), s("CONFIG")),
            ("yaml".to_string(), s(yaml)),
        ]);
        self.table.put(TENANTS, item).await?;
        let old = previous.as_ref().and_then(|item| text(item, "yaml")).map(yaml_digest).filter(|old| *old != digest);
        if let Some(old) = old {
            self.delete_model(&id, &old).await?;
        }
        crate::adapters::lock(&self.cache).remove(&id);
        Ok(id)
    }

    /// Stores `model` as the one trained from the YAML whose digest is `digest`, in parts,
    /// replacing whatever was stored for it.
    pub async fn put_model(&self, id: &TenantId, digest: &str, model: &IntentModel) -> Result<(), PortError> {
        let bytes = model.to_bytes();
        let parts: Vec<&[u8]> = bytes.chunks(MODEL_PART_BYTES).collect();
        self.delete_model(id, digest).await?;
        if parts.len() > MAX_MODEL_PARTS {
            tracing::info!(tenant = %id, bytes = bytes.len(), "intent model too large to store; cold starts train it");
            return Ok(());
        }
        for (n, part) in parts.iter().enumerate() {
            let item = Item::from([
                ("pk".to_string(), s(partition::tenant(id))),
                ("sk".to_string(), s(format!("{}{n:02}", model_prefix(digest)))),
                ("model".to_string(), AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(*part))),
                ("parts".to_string(), n_(parts.len())),
            ]);
            self.table.put(TENANTS, item).await?;
        }
        Ok(())
    }

    /// Removes the parts of a stored model (and the single item of the format before parts).
    async fn delete_model(&self, id: &TenantId, digest: &str) -> Result<(), PortError> {
        let pk = partition::tenant(id);
        let parts = self.table.query(TENANTS, pk.clone(), SortKey::Prefix(model_prefix(digest)), true, 100).await?;
        for sk in parts.iter().filter_map(|item| text(item, "sk")) {
            self.table.delete(TENANTS, pk.clone(), sk).await?;
        }
        self.table.delete(TENANTS, pk, &format!("MODEL#{digest}")).await
    }

    /// The stored model trained from the YAML with `digest`: `None` when there is none, when a
    /// part is missing (a put in progress or failed half-way) or the bytes do not read back.
    async fn stored_model(&self, id: &TenantId, digest: &str) -> Result<Option<IntentModel>, PortError> {
        let prefix = model_prefix(digest);
        let items = self
            .table
            .query_with(TENANTS, partition::tenant(id), SortKey::Prefix(prefix), true, MAX_MODEL_PARTS + 1, false)
            .await?;
        let declared = items.first().and_then(|i| i.get("parts")).and_then(|p| p.as_n().ok()?.parse::<usize>().ok());
        if declared != Some(items.len()) {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        for item in &items {
            let Some(part) = item.get("model").and_then(|m| m.as_b().ok()) else { return Ok(None) };
            bytes.extend_from_slice(part.as_ref());
        }
        Ok(IntentModel::from_bytes(&bytes))
    }

    /// Reads, resolves and compiles a tenant; logs what each step took, since this is the first
    /// request's share of a cold start (and of each cache period). The secrets and the stored
    /// model are fetched at the same time.
    async fn load(&self, id: &TenantId) -> Result<Option<Tenant>, PortError> {
        let started = Instant::now();
        let Some(item) = self.table.get(TENANTS, partition::tenant(id), "CONFIG").await? else { return Ok(None) };
        let read = started.elapsed();
        let yaml = text(&item, "yaml").ok_or_else(|| corrupt(TENANTS, "missing yaml"))?;
        let source = format!("tenant {id}");
        let mut config = TenantConfig::from_yaml(&source, yaml).map_err(|e| corrupt(TENANTS, e))?;
        self.check_references(&config, &source)?;
        let misconfigured = |detail: String| PortError::Misconfigured { port: TENANTS, detail };
        let resolve = self.resolve_secrets;
        let secrets = async {
            for (field, secret) in config.secrets_mut() {
                if !resolve {
                    // Withheld: a random key of this instance's, which nobody can sign with and
                    // nothing of the tenant's verifies under.
                    *secret = withheld_secret();
                    continue;
                }
                let Some(name) = secret.parameter().map(str::to_string) else { continue };
                // A missing secret is never an empty one: the tenant does not load until it exists.
                *secret = self.secrets.secret(&name).await?.ok_or_else(|| {
                    misconfigured(format!("tenant {id}: SSM parameter {name} ({field}) does not exist"))
                })?;
            }
            Ok::<_, PortError>(())
        };
        // The model: the one this instance already has when the YAML is unchanged (a cache
        // refresh: reading 300 KB again costs more than training), else the stored one.
        let digest = yaml_digest(yaml);
        let known = crate::adapters::lock(&self.models).get(id).filter(|(d, _)| *d == digest).map(|(_, m)| m.clone());
        let fetch = async {
            match known {
                Some(_) => Ok(None),
                None => self.stored_model(id, &digest).await,
            }
        };
        let (secrets, fetched) = tokio::join!(secrets, fetch);
        secrets?;
        let (model, from) = match (known, fetched) {
            (Some(model), _) => (Some(model), "cached"),
            (None, Ok(model)) => (model, "stored"),
            (None, Err(error)) => {
                tracing::warn!(tenant = %id, %error, "stored intent model unreadable; training it");
                (None, "stored")
            }
        };
        // No model to reuse (too large to store, YAML written by hand, unreadable): train it.
        let from = if model.is_some() { from } else { "trained" };
        let fetched = started.elapsed();
        let tenant = Tenant::compile_with(&source, config, model).map_err(|e| misconfigured(e.to_string()))?;
        crate::adapters::lock(&self.models).insert(id.clone(), (digest, tenant.classifier.intents().clone()));
        tracing::info!(
            tenant = %id,
            model = from,
            read_us = read.as_micros() as u64,
            secrets_and_model_us = (fetched - read).as_micros() as u64,
            compile_us = (started.elapsed() - fetched).as_micros() as u64,
            "tenant loaded"
        );
        Ok(Some(tenant))
    }
}

#[async_trait]
impl TenantDirectory for DynamoTenants {
    async fn tenant(&self, id: &TenantId) -> Result<Option<Arc<Tenant>>, PortError> {
        if let Some((tenant, at)) = crate::adapters::lock(&self.cache).get(id)
            && at.elapsed() < self.ttl
        {
            return tenant.clone();
        }
        let tenant = self.load(id).await.map(|t| t.map(Arc::new));
        match &tenant {
            // Unknown ids are cached too, so garbage tenant ids cannot make every request a read;
            // so are broken tenants (one log line per cache period, not a read per request).
            Ok(_) => self.remember(id, tenant.clone()),
            Err(error @ (PortError::Misconfigured { .. } | PortError::Corrupt { .. })) => {
                tracing::error!(tenant = %id, %error, "tenant cannot be loaded; cached as broken until the cache expires");
                self.remember(id, tenant.clone());
            }
            Err(_) => {}
        }
        tenant
    }
}

/// Allowances as atomic counters (`T#{tenant}#ALLOW#{what}` / `W#{window}`), expiring a day after
/// their window: one conditional `UpdateItem` per unit taken.
#[derive(Debug, Clone)]
pub struct DynamoAllowances {
    table: Table,
}

impl DynamoAllowances {
    /// Counters in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The update that adds `units` to a window's counter, which expires a day after the window.
    fn add_units(
        &self,
        tenant: &TenantId,
        what: &str,
        window: DateTime<Utc>,
        units: u32,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(partition::allowance(tenant, what)))
            .key("sk", s(format!("W#{}", window.timestamp())))
            .update_expression("ADD taken :n SET #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":n", n(i64::from(units)))
            .expression_attribute_values(":ttl", n(window.timestamp() + 24 * 3600))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }
}

const ALLOWANCES: &str = "allowances";

#[async_trait]
impl crate::ports::Allowances for DynamoAllowances {
    async fn take(&self, tenant: &TenantId, what: &str, window: DateTime<Utc>, limit: u32) -> Result<bool, PortError> {
        let out = self
            .add_units(tenant, what, window, 1)
            .condition_expression("attribute_not_exists(taken) OR taken < :limit")
            .expression_attribute_values(":limit", n(i64::from(limit)))
            .send()
            .await;
        match conditional_write(ALLOWANCES, out, Err(PortError::Conflict { port: ALLOWANCES })) {
            Ok(()) => Ok(true),
            Err(PortError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn add(&self, tenant: &TenantId, what: &str, window: DateTime<Utc>, units: u32) -> Result<u64, PortError> {
        let out = self
            .add_units(tenant, what, window, units)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| unavailable(ALLOWANCES, e))?;
        meter(out.consumed_capacity(), true);
        let taken = out.attributes().and_then(|a| a.get("taken")).and_then(|v| v.as_n().ok());
        taken.and_then(|t| t.parse().ok()).ok_or_else(|| PortError::Corrupt {
            port: ALLOWANCES,
            detail: "the counter's update returned no total".into(),
        })
    }
}

/// The cost ledger in the month's partition `T#{tenant}#COST#{yyyy-mm}`: records
/// (`R#{at}#{request}#{function}#{item}`, kept 400 days), day totals (`DAY#{yyyy-mm-dd}`, one
/// number attribute per counter, moved by `ADD`) and alerts raised (`ALERT#{name}`).
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    table: Table,
}

impl DynamoLedger {
    /// The ledger in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const LEDGER: &str = "cost ledger";
const RECORD_RETENTION: chrono::Duration = chrono::Duration::days(crate::cost::RECORD_RETENTION_DAYS);

fn ledger_pk(tenant: &TenantId, month: Month) -> String {
    partition::cost_month(tenant, month)
}

#[async_trait]
impl CostLedger for DynamoLedger {
    async fn record(&self, record: &CostRecord) -> Result<(), PortError> {
        let pk = ledger_pk(&record.tenant, record.month());
        let item = Item::from([
            ("pk".to_string(), s(pk.clone())),
            ("sk".to_string(), s(format!("R#{}", record.key()))),
            ("data".to_string(), s(to_json(LEDGER, record)?)),
            ("ttl".to_string(), n((record.at + RECORD_RETENTION).timestamp())),
        ]);
        // The record first, returning the one it replaces: the totals then move by the
        // difference, so a redelivery leaves them equal to the sum of the records.
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable(LEDGER, e))?;
        meter(out.consumed_capacity(), true);
        let old: Option<CostRecord> =
            out.attributes().filter(|a| a.contains_key("data")).map(|a| json(LEDGER, a, "data")).transpose()?;
        let delta = crate::cost::delta(old.as_ref(), record);
        self.add_to_day(&record.tenant, record.month(), record.day(), &delta).await
    }

    async fn add_to_day(
        &self,
        tenant: &TenantId,
        month: Month,
        day: chrono::NaiveDate,
        counters: &std::collections::BTreeMap<String, i64>,
    ) -> Result<(), PortError> {
        if counters.is_empty() {
            return Ok(());
        }
        let mut update = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(ledger_pk(tenant, month)))
            .key("sk", s(format!("DAY#{day}")))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let mut adds = Vec::with_capacity(counters.len());
        for (i, (name, by)) in counters.iter().enumerate() {
            adds.push(format!("#a{i} :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), n(*by));
        }
        let out = update
            .update_expression(format!("ADD {}", adds.join(", ")))
            .send()
            .await
            .map_err(|e| unavailable(LEDGER, e))?;
        meter(out.consumed_capacity(), true);
        Ok(())
    }

    async fn days(&self, tenant: &TenantId, month: Month) -> Result<Vec<DayTotals>, PortError> {
        let items =
            self.table.query(LEDGER, ledger_pk(tenant, month), SortKey::Prefix("DAY#".into()), true, 40).await?;
        items
            .iter()
            .map(|item| {
                let day = text(item, "sk")
                    .and_then(|sk| sk.strip_prefix("DAY#"))
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| corrupt(LEDGER, "day totals without a day"))?;
                let counters = item
                    .iter()
                    .filter(|(k, _)| k.as_str() != "pk" && k.as_str() != "sk")
                    .filter_map(|(k, v)| Some((k.clone(), v.as_n().ok()?.parse::<i64>().ok()?)))
                    .collect();
                Ok(DayTotals { day: Some(day), counters })
            })
            .collect()
    }

    async fn records(&self, tenant: &TenantId, month: Month, limit: usize) -> Result<Vec<CostRecord>, PortError> {
        let items =
            self.table.query(LEDGER, ledger_pk(tenant, month), SortKey::Prefix("R#".into()), false, limit).await?;
        items.iter().map(|i| json(LEDGER, i, "data")).collect()
    }

    async fn raise_once(
        &self,
        tenant: &TenantId,
        month: Month,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item("pk", s(ledger_pk(tenant, month)))
            .item("sk", s(format!("ALERT#{name}")))
            .item("at", s(at.to_rfc3339()))
            .condition_expression("attribute_not_exists(pk)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match conditional_write(LEDGER, out, Err(PortError::Conflict { port: LEDGER })) {
            Ok(()) => Ok(true),
            Err(PortError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn alerts(&self, tenant: &TenantId, month: Month) -> Result<Vec<(String, DateTime<Utc>)>, PortError> {
        let items =
            self.table.query(LEDGER, ledger_pk(tenant, month), SortKey::Prefix("ALERT#".into()), true, 100).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let name = text(i, "sk")?.strip_prefix("ALERT#")?.to_string();
                let at = text(i, "at")?.parse().ok()?;
                Some((name, at))
            })
            .collect())
    }
}

/// Tickets by escalation (`T#{tenant}#E#{escalation}` / `TICKET`) and conversations by ticket
/// (`T#{tenant}#K#{helpdesk}#{ticket}` / `TICKET`), kept for a year.
#[derive(Debug, Clone)]
pub struct DynamoTickets {
    table: Table,
}

impl DynamoTickets {
    /// Ticket links in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const TICKETS: &str = "ticket store";
const TICKET_RETENTION: chrono::Duration = chrono::Duration::days(365);

#[async_trait]
impl TicketStore for DynamoTickets {
    async fn record_ticket(
        &self,
        tenant: &TenantId,
        escalation: &MessageId,
        conversation: &ConversationId,
        ticket: &TicketRef,
    ) -> Result<(), PortError> {
        let ttl = n((Utc::now() + TICKET_RETENTION).timestamp());
        // The reverse link first: once the escalation's record exists, callbacks must resolve.
        let link = Item::from([
            ("pk".to_string(), s(partition::ticket(tenant, &ticket.helpdesk, &ticket.id))),
            ("sk".to_string(), s("TICKET")),
            ("conversation".to_string(), s(conversation.as_str())),
            ("ttl".to_string(), ttl.clone()),
        ]);
        self.table.put(TICKETS, link).await?;
        let record = Item::from([
            ("pk".to_string(), s(partition::escalation(tenant, escalation))),
            ("sk".to_string(), s("TICKET")),
            ("data".to_string(), s(to_json(TICKETS, ticket)?)),
            ("conversation".to_string(), s(conversation.as_str())),
            ("ttl".to_string(), ttl),
        ]);
        self.table.put(TICKETS, record).await
    }

    async fn ticket_for(&self, tenant: &TenantId, escalation: &MessageId) -> Result<Option<TicketRef>, PortError> {
        let item = self.table.get(TICKETS, partition::escalation(tenant, escalation), "TICKET").await?;
        item.map(|i| json(TICKETS, &i, "data")).transpose()
    }

    async fn conversation_for(
        &self,
        tenant: &TenantId,
        helpdesk: &str,
        id: &str,
    ) -> Result<Option<ConversationId>, PortError> {
        let item = self.table.get(TICKETS, partition::ticket(tenant, helpdesk, id), "TICKET").await?;
        item.and_then(|i| text(&i, "conversation").map(ConversationId::new))
            .transpose()
            .map_err(|e| corrupt(TICKETS, e))
    }
}
