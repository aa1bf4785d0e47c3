use super::{Aging, capacity, lock};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use switchboard_core::domain::{
    Conversation, ConversationId, ConversationState, MessageId, ReviewItem, ReviewKind, TenantId, Turn, TurnCursor,
};
use switchboard_core::ports::{Activity, Clock, ConversationStore, PortError};

/// A conversation's record, its turns and its review items.
#[derive(Debug)]
struct Entry {
    conversation: Conversation,
    /// Until when the record is kept.
    keep: DateTime<Utc>,
    /// Each turn with the time it is kept until.
    turns: BTreeMap<TurnCursor, (Turn, DateTime<Utc>)>,
    /// Messages kept for review, by kind and message, with the time each is kept until.
    reviews: BTreeMap<(ReviewKind, MessageId), (ReviewItem, DateTime<Utc>)>,
    /// The last `seq` given to a turn.
    written: u64,
}

/// Conversations and turns in maps; turns ordered by cursor like the table's sort key.
#[derive(Debug, Default)]
pub struct MemoryConversations {
    entries: Mutex<HashMap<(TenantId, ConversationId), Entry>>,
    aging: Aging,
}

impl MemoryConversations {
    /// Conversations whose turns age by `clock` (the wall clock by default).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self { entries: Mutex::default(), aging: Aging(clock) }
    }

    /// The turns of `entry` not yet expired, in cursor order.
    fn live<'a>(&'a self, entry: &'a Entry) -> impl DoubleEndedIterator<Item = &'a Turn> + 'a {
        entry.turns.values().filter(|(_, keep)| !self.aging.expired(Some(*keep))).map(|(turn, _)| turn)
    }

    /// How many conversations exist (for tests that check nothing was stored).
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// True when there is no conversation at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

const PORT: &str = "conversation store";

fn missing() -> PortError {
    PortError::Corrupt { port: PORT, detail: "no such conversation".into() }
}

#[async_trait]
impl ConversationStore for MemoryConversations {
    async fn conversation(&self, tenant: &TenantId, id: &ConversationId) -> Result<Option<Conversation>, PortError> {
        let found = lock(&self.entries)
            .get(&(tenant.clone(), id.clone()))
            .filter(|e| !self.aging.expired(Some(e.keep)))
            .map(|e| e.conversation.clone());
        capacity::read(found.as_ref().map_or(0, capacity::conversation));
        Ok(found)
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), PortError> {
        let mut entries = lock(&self.entries);
        let key = (conversation.tenant.clone(), conversation.id.clone());
        let keep = self.aging.0.now() + chrono::Duration::days(switchboard_core::ports::DEFAULT_CONVERSATION_DAYS);
        match entries.get_mut(&key) {
            Some(live) if !self.aging.expired(Some(live.keep)) => {
                capacity::refused_write();
                return Err(PortError::Conflict { port: PORT });
            }
            // Past its retention: a new record, over whatever turns the table has not deleted.
            Some(expired) => {
                expired.conversation = conversation.clone();
                expired.keep = keep;
            }
            None => {
                let entry = Entry {
                    conversation: conversation.clone(),
                    keep,
                    turns: BTreeMap::new(),
                    reviews: BTreeMap::new(),
                    written: 0,
                };
                entries.insert(key, entry);
            }
        }
        capacity::write(capacity::conversation(conversation));
        Ok(())
    }

    async fn record_activity(
        &self,
        tenant: &TenantId,
        id: &ConversationId,
        activity: &Activity,
    ) -> Result<(), PortError> {
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(&(tenant.clone(), id.clone())) else {
            capacity::refused_write();
            return Err(missing());
        };
        let before = capacity::conversation(&entry.conversation);
        let c = &mut entry.conversation;
        c.language = Some(activity.language);
        c.last_inbound_at = Some(activity.last_inbound_at);
        if c.customer.is_none() {
            c.customer = activity.customer.clone();
        }
        if activity.thread.is_some() {
            c.thread = activity.thread.clone();
        }
        entry.keep = activity.keep;
        capacity::write(before.max(capacity::conversation(c)));
        Ok(())
    }

    async fn transition(
        &self,
        tenant: &TenantId,
        id: &ConversationId,
        from: &ConversationState,
        to: &ConversationState,
    ) -> Result<(), PortError> {
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(&(tenant.clone(), id.clone())) else {
            capacity::refused_write();
            return Err(missing());
        };
        if &entry.conversation.state != from {
            capacity::refused_write();
            return Err(PortError::Conflict { port: PORT });
        }
        let before = capacity::conversation(&entry.conversation);
        entry.conversation.state = to.clone();
        capacity::write(before.max(capacity::conversation(&entry.conversation)));
        Ok(())
    }

    async fn delete_conversation(&self, tenant: &TenantId, id: &ConversationId) -> Result<(), PortError> {
        lock(&self.entries).remove(&(tenant.clone(), id.clone()));
        Ok(())
    }

    async fn append_turn(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        turn: &Turn,
        keep: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(&(tenant.clone(), conversation.clone())).ok_or_else(|| PortError::Corrupt {
            port: PORT,
            detail: "turn for a conversation that does not exist".into(),
        })?;
        // Like the DynamoDB adapter: the counter moves on every write (a rewrite leaves a gap in
        // DynamoDB; here it keeps the number), then the turn item and its index entry.
        capacity::write(capacity::turn_counter(tenant, conversation, entry.written + 1));
        let seq = match entry.turns.get(&turn.cursor) {
            Some((stored, _)) => stored.seq,
            None => {
                entry.written += 1;
                entry.written
            }
        };
        let stored = Turn { seq, ..turn.clone() };
        let before = entry.turns.get(&turn.cursor).map_or(0, |(t, _)| capacity::turn(tenant, conversation, t));
        capacity::write_turn(before.max(capacity::turn(tenant, conversation, &stored)));
        entry.turns.insert(turn.cursor.clone(), (stored, keep));
        Ok(())
    }

    async fn turn(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        cursor: &TurnCursor,
    ) -> Result<Option<Turn>, PortError> {
        let entries = lock(&self.entries);
        let found = entries
            .get(&(tenant.clone(), conversation.clone()))
            .and_then(|e| e.turns.get(cursor))
            .filter(|(_, keep)| !self.aging.expired(Some(*keep)))
            .map(|(turn, _)| turn.clone());
        capacity::read(found.as_ref().map_or(0, |t| capacity::turn(tenant, conversation, t)));
        Ok(found)
    }

    async fn turns_after(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Turn>, PortError> {
        let entries = lock(&self.entries);
        let Some(entry) = entries.get(&(tenant.clone(), conversation.clone())) else {
            capacity::query(0, 0);
            return Ok(Vec::new());
        };
        let after = after.unwrap_or(0);
        let mut turns: Vec<Turn> = self.live(entry).filter(|t| t.seq > after).cloned().collect();
        turns.sort_by_key(|t| t.seq);
        turns.truncate(limit);
        capacity::query(turns.iter().map(|t| capacity::turn(tenant, conversation, t)).sum(), turns.len());
        Ok(turns)
    }

    async fn recent_turns(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        limit: usize,
    ) -> Result<Vec<Turn>, PortError> {
        let entries = lock(&self.entries);
        let Some(entry) = entries.get(&(tenant.clone(), conversation.clone())) else {
            capacity::query(0, 0);
            return Ok(Vec::new());
        };
        let mut turns: Vec<Turn> = self.live(entry).rev().take(limit).cloned().collect();
        turns.reverse();
        capacity::query(turns.iter().map(|t| capacity::turn(tenant, conversation, t)).sum(), turns.len());
        Ok(turns)
    }

    async fn add_review(&self, tenant: &TenantId, item: &ReviewItem, keep: DateTime<Utc>) -> Result<(), PortError> {
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(&(tenant.clone(), item.conversation.clone())).ok_or_else(missing)?;
        capacity::write(capacity::review(tenant, item));
        capacity::write(capacity::review_index(tenant, item));
        entry.reviews.insert((item.kind, item.message.clone()), (item.clone(), keep));
        Ok(())
    }

    async fn reviews(&self, tenant: &TenantId, kind: ReviewKind, limit: usize) -> Result<Vec<ReviewItem>, PortError> {
        let entries = lock(&self.entries);
        let mut found: Vec<ReviewItem> = entries
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .flat_map(|(_, e)| e.reviews.values())
            .filter(|(item, keep)| item.kind == kind && !self.aging.expired(Some(*keep)))
            .map(|(item, _)| item.clone())
            .collect();
        found.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.message.as_str().cmp(a.message.as_str())));
        found.truncate(limit);
        capacity::query(found.iter().map(|r| capacity::review_index(tenant, r)).sum(), found.len());
        if !found.is_empty() {
            capacity::read(found.iter().map(|r| capacity::review(tenant, r)).sum());
        }
        Ok(found)
    }
}
