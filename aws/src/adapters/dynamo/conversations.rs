//! Conversations and their turns. Both carry the tenant's retention as their `ttl`: a turn
//! from when it was written, the conversation's record from when the customer last wrote.

use super::*;
use switchboard_core::domain::{ReviewItem, ReviewKind};

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
    // Until the first message's activity sets the tenant's retention.
    let keep = Utc::now() + chrono::Duration::days(switchboard_core::ports::DEFAULT_CONVERSATION_DAYS);
    let mut item = Item::from([
        ("ttl".to_string(), n(keep.timestamp())),
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

#[async_trait]
impl ConversationStore for DynamoConversations {
    async fn conversation(&self, tenant: &TenantId, id: &ConversationId) -> Result<Option<Conversation>, PortError> {
        let item = self.table.get(CONVERSATIONS, conversation_pk(tenant, id), "STATE").await?;
        item.filter(|i| !expired(i)).map(|i| conversation_from(tenant, id, &i)).transpose()
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), PortError> {
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(conversation_item(conversation)?))
            // A record past its retention, not yet deleted by the TTL, is as good as gone.
            .condition_expression("attribute_not_exists(pk) OR #ttl <= :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(Utc::now().timestamp()))
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
        let mut update = "SET #lang = :lang, last_inbound_at = :at, #ttl = :ttl".to_string();
        let mut request = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(conversation_pk(tenant, id)))
            .key("sk", s("STATE"))
            .expression_attribute_names("#lang", "language")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":lang", s(activity.language.code()))
            .expression_attribute_values(":ttl", n(activity.keep.timestamp()))
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
        keep: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let pk = conversation_pk(tenant, conversation);
        let sk = format!("TURN#{}", turn.cursor.as_str());
        let expires = keep.timestamp();
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
        item.as_ref().filter(|i| !expired(i)).map(turn_from).transpose()
    }

    async fn turns_after(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Turn>, PortError> {
        let after = i64::try_from(after.unwrap_or(0)).unwrap_or(i64::MAX);
        // Expired turns the TTL has not deleted yet come back from the query and are skipped:
        // read on past them, or a poll starting before a long expired stretch would page
        // nothing and never move its cursor. Bounded: a few pages at most per poll.
        let mut found = Vec::new();
        let mut start = None;
        for _ in 0..MAX_POLL_PAGES {
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
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| unavailable(CONVERSATIONS, e))?;
            meter(out.consumed_capacity(), false);
            for item in out.items().iter().filter(|i| !expired(i)) {
                found.push(turn_from(item)?);
            }
            start = out.last_evaluated_key().cloned();
            if found.len() >= limit || start.is_none() {
                break;
            }
        }
        found.truncate(limit);
        Ok(found)
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
        let mut turns = items.iter().filter(|i| !expired(i)).map(turn_from).collect::<Result<Vec<_>, _>>()?;
        turns.reverse();
        Ok(turns)
    }

    async fn add_review(&self, tenant: &TenantId, item: &ReviewItem, keep: DateTime<Utc>) -> Result<(), PortError> {
        // The item lives in its conversation's partition, so deleting the conversation (an
        // erasure) deletes it; the tenant's index holds ids only, for the newest-first listing.
        let ttl = n(keep.timestamp());
        let review = Item::from([
            ("pk".to_string(), s(conversation_pk(tenant, &item.conversation))),
            ("sk".to_string(), s(format!("{REVIEW_PREFIX}{}#{}", item.kind.as_str(), item.message))),
            ("data".to_string(), s(to_json(CONVERSATIONS, item)?)),
            ("ttl".to_string(), ttl.clone()),
        ]);
        self.table.put(CONVERSATIONS, review).await?;
        let index = Item::from([
            ("pk".to_string(), s(partition::reviews(tenant, item.kind.as_str()))),
            ("sk".to_string(), s(format!("R#{:013}#{}", item.at.timestamp_millis().max(0), item.message))),
            ("conversation".to_string(), s(item.conversation.as_str())),
            ("message".to_string(), s(item.message.as_str())),
            ("ttl".to_string(), ttl),
        ]);
        self.table.put(CONVERSATIONS, index).await
    }

    async fn reviews(&self, tenant: &TenantId, kind: ReviewKind, limit: usize) -> Result<Vec<ReviewItem>, PortError> {
        // Newest first; a few more index entries than asked for, since an erased conversation
        // leaves its entries behind until they expire.
        let pk = partition::reviews(tenant, kind.as_str());
        let index = self.table.query(CONVERSATIONS, pk, SortKey::Any, false, limit * 2).await?;
        // A redelivered message decided again has two index entries and one item.
        let mut keys: Vec<(String, String)> = Vec::new();
        for entry in index.iter().filter(|i| !expired(i)) {
            let (Some(conversation), Some(message)) = (text(entry, "conversation"), text(entry, "message")) else {
                continue;
            };
            let Ok(conversation) = ConversationId::new(conversation) else { continue };
            let key = (conversation_pk(tenant, &conversation), format!("{REVIEW_PREFIX}{}#{message}", kind.as_str()));
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let mut found: Vec<ReviewItem> = self
            .table
            .get_all(CONVERSATIONS, keys)
            .await?
            .iter()
            .filter(|i| !expired(i))
            .map(|i| json(CONVERSATIONS, i, "data"))
            .collect::<Result<_, _>>()?;
        found.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.message.as_str().cmp(a.message.as_str())));
        found.truncate(limit);
        Ok(found)
    }
}

/// Pages a poll reads past expired turns before it answers with what it has.
const MAX_POLL_PAGES: usize = 10;

/// A pilot decision's item in its conversation's partition.
const REVIEW_PREFIX: &str = "REVIEW#";

/// A stored turn: its JSON, and its place in the written order.
fn turn_from(item: &Item) -> Result<Turn, PortError> {
    let turn: Turn = json(CONVERSATIONS, item, "data")?;
    let seq = item.get("seq").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Turn { seq, ..turn })
}
