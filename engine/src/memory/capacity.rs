//! What the DynamoDB adapters would be billed for, reported by the memory adapters: the same
//! items (names and values as `adapters/aws/dynamo/` writes them), measured by DynamoDB's
//! size rules, so `switchboard serve` shows production's DynamoDB figures. A test runs one
//! scenario on both adapters and compares the units; keep these items in step with it.

use crate::cost::units::{ItemSize, read_milli_units, write_milli_units};
use switchboard_core::domain::{Conversation, ConversationId, Customer, CustomerId, Order, ReviewItem, TenantId, Turn};
use switchboard_core::keys::partition;
use switchboard_core::meter::report;

/// Bytes DynamoDB adds to each local secondary index entry.
const INDEX_ENTRY_OVERHEAD: u64 = 100;

/// A strongly consistent read of `bytes` (one item, or a query's items together; nothing read
/// is still one unit).
pub(super) fn read(bytes: u64) {
    report(|m| {
        m.dynamodb_calls += 1;
        m.dynamodb_read_milli_units += read_milli_units(bytes, true);
    });
}

/// A query that read `items` items of `bytes` together. A query that finds nothing reports no
/// capacity, as DynamoDB Local does (docs/design.md: real DynamoDB may bill its minimum).
pub(super) fn query(bytes: u64, items: usize) {
    if items == 0 {
        report(|m| m.dynamodb_calls += 1);
    } else {
        read(bytes);
    }
}

/// A write of an item of `bytes` (an update: the larger of before and after).
pub(super) fn write(bytes: u64) {
    report(|m| {
        m.dynamodb_calls += 1;
        m.dynamodb_write_milli_units += write_milli_units(bytes);
    });
}

/// A write to a turn item: the table and the `by_seq` index entry.
pub(super) fn write_turn(bytes: u64) {
    write(bytes);
    report(|m| m.dynamodb_write_milli_units += write_milli_units(bytes + INDEX_ENTRY_OVERHEAD));
}

/// A conditional write whose condition failed: billed one unit.
pub(super) fn refused_write() {
    write(0);
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn conversation_pk(tenant: &TenantId, id: &ConversationId) -> String {
    partition::conversation(tenant, id)
}

/// The conversation's `STATE` item.
pub(super) fn conversation(c: &Conversation) -> u64 {
    let mut size = ItemSize::keyed(&conversation_pk(&c.tenant, &c.id), "STATE")
        .s("channel", c.channel.as_str())
        .s("address", &c.address)
        .s("owner_state", &json(&c.state))
        .s("started_at", &c.started_at.to_rfc3339());
    if let Some(customer) = &c.customer {
        size = size.s("customer", customer.as_str());
    }
    if let Some(language) = c.language {
        size = size.s("language", language.code());
    }
    if let Some(at) = c.last_inbound_at {
        size = size.s("last_inbound_at", &at.to_rfc3339());
    }
    if let Some(thread) = &c.thread {
        size = size.s("thread", thread);
    }
    size.bytes()
}

/// The conversation's turn counter item after `written` turns.
pub(super) fn turn_counter(tenant: &TenantId, id: &ConversationId, written: u64) -> u64 {
    ItemSize::keyed(&conversation_pk(tenant, id), "SEQ")
        .n("written", i64::try_from(written).unwrap_or(i64::MAX))
        .bytes()
}

/// A turn item.
pub(super) fn turn(tenant: &TenantId, id: &ConversationId, turn: &Turn) -> u64 {
    let expires = (turn.at + chrono::Duration::days(90)).timestamp();
    ItemSize::keyed(&conversation_pk(tenant, id), &format!("TURN#{}", turn.cursor.as_str()))
        .s("data", &json(&Turn { seq: 0, ..turn.clone() }))
        .n("ttl", expires)
        .n("seq", i64::try_from(turn.seq).unwrap_or(i64::MAX))
        .bytes()
}

/// A pilot decision kept for review, in its conversation's partition.
pub(super) fn review(tenant: &TenantId, item: &ReviewItem) -> u64 {
    ItemSize::keyed(
        &conversation_pk(tenant, &item.conversation),
        &format!("REVIEW#{}#{}", item.kind.as_str(), item.message),
    )
    .s("data", &json(item))
    .n("ttl", item.at.timestamp())
    .bytes()
}

/// Its entry in the tenant's review index.
pub(super) fn review_index(tenant: &TenantId, item: &ReviewItem) -> u64 {
    let sk = format!("R#{:013}#{}", item.at.timestamp_millis(), item.message);
    ItemSize::keyed(&partition::reviews(tenant, item.kind.as_str()), &sk)
        .s("conversation", item.conversation.as_str())
        .n("ttl", item.at.timestamp())
        .bytes()
}

/// An idempotency record in progress.
pub(super) fn claim(key: &str, lock_expires_ms: i64, ttl: i64) -> u64 {
    ItemSize::keyed(key, "IDEMPOTENCY")
        .s("status", "INPROGRESS")
        .n("lock_expires_ms", lock_expires_ms)
        .n("ttl", ttl)
        .bytes()
}

/// A completed idempotency record.
pub(super) fn completed(key: &str, response: &serde_json::Value, ttl: i64) -> u64 {
    ItemSize::keyed(key, "IDEMPOTENCY").s("status", "COMPLETED").s("response", &json(response)).n("ttl", ttl).bytes()
}

/// A customer profile item (its orders are items of their own).
pub(super) fn profile(tenant: &TenantId, customer: &Customer) -> u64 {
    let profile = Customer { orders: vec![], ..customer.clone() };
    ItemSize::keyed(&partition::customer(tenant, &customer.id), "PROFILE").s("data", &json(&profile)).bytes()
}

/// One order item.
pub(super) fn order(tenant: &TenantId, customer: &CustomerId, order: &Order) -> u64 {
    ItemSize::keyed(&partition::customer(tenant, customer), &format!("ORDER#{}", order.id))
        .s("data", &json(order))
        .bytes()
}

/// A customer's link to one of their conversations.
pub(super) fn conversation_link(tenant: &TenantId, customer: &CustomerId, conversation: &ConversationId) -> u64 {
    ItemSize::keyed(&partition::customer(tenant, customer), &format!("CONV#{conversation}")).bytes()
}

/// A profile and its orders, read together by one query (units are summed over the items).
pub(super) fn profile_with_orders(tenant: &TenantId, customer: &Customer) -> u64 {
    customer.orders.iter().map(|o| order(tenant, &customer.id, o)).sum::<u64>() + profile(tenant, customer)
}

/// An identity link to a customer.
pub(super) fn identity(tenant: &TenantId, identity: &str, customer: &str) -> u64 {
    ItemSize::keyed(&partition::identity(tenant, identity), "IDENTITY").s("customer", customer).bytes()
}

/// An allowance window's counter.
pub(super) fn allowance(tenant: &TenantId, what: &str, window: chrono::DateTime<chrono::Utc>, taken: u32) -> u64 {
    ItemSize::keyed(&partition::allowance(tenant, what), &format!("W#{}", window.timestamp()))
        .n("taken", i64::from(taken))
        .n("ttl", window.timestamp() + 24 * 3600)
        .bytes()
}

/// A ticket's link back to its conversation (kept a year).
pub(super) fn ticket_link(
    tenant: &TenantId,
    ticket: &switchboard_core::domain::TicketRef,
    conversation: &ConversationId,
) -> u64 {
    ItemSize::keyed(&partition::ticket(tenant, &ticket.helpdesk, &ticket.id), "TICKET")
        .s("conversation", conversation.as_str())
        .n("ttl", ticket_ttl())
        .bytes()
}

/// The escalation's ticket record.
pub(super) fn ticket_record(
    tenant: &TenantId,
    escalation: &switchboard_core::domain::MessageId,
    ticket: &switchboard_core::domain::TicketRef,
    conversation: &ConversationId,
) -> u64 {
    ItemSize::keyed(&partition::escalation(tenant, escalation), "TICKET")
        .s("data", &json(ticket))
        .s("conversation", conversation.as_str())
        .n("ttl", ticket_ttl())
        .bytes()
}

fn ticket_ttl() -> i64 {
    (chrono::Utc::now() + chrono::Duration::days(365)).timestamp()
}
