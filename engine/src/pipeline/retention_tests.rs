//! The tenant's retention on the responder's writes: a conversation's turns are kept
//! `data.retention.turns_days` from when they were written, then gone for every read — the
//! widget's poll and the history the next answer is drafted from — before the table's TTL
//! deletes them.

use super::tests::{Rig, message, rig_with};
use crate::memory::MemoryCustomers;
use crate::tenant::Tenant;
use chrono::Duration;
use std::sync::Arc;
use switchboard_core::domain::{Channel, ConversationId, TenantId, Turn};
use switchboard_core::ports::ConversationStore;

async fn turns(rig: &Rig) -> Vec<Turn> {
    let (t, c) = (TenantId::new("demo").unwrap(), ConversationId::new("c_test").unwrap());
    let polled = rig.conversations.turns_after(&t, &c, None, 100).await.unwrap();
    let history = rig.conversations.recent_turns(&t, &c, 100).await.unwrap();
    assert_eq!(polled, history, "the poll and the history agree");
    polled
}

#[tokio::test]
async fn turns_are_kept_for_the_tenants_retention_and_no_longer() {
    let mut demo = Tenant::demo().unwrap();
    demo.config.data.retention.turns_days = 30;
    let rig = rig_with(demo, Arc::new(MemoryCustomers::default()));
    rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
    assert_eq!(turns(&rig).await.len(), 2, "the question and its answer");

    rig.clock.advance(Duration::days(30) - Duration::seconds(1));
    assert_eq!(turns(&rig).await.len(), 2, "kept for 30 days");
    rig.clock.advance(Duration::seconds(1));
    assert!(turns(&rig).await.is_empty(), "gone once 30 days have passed");

    rig.responder.respond(&message("And on Sundays?", Channel::Webchat)).await.unwrap();
    let texts: Vec<String> = turns(&rig).await.into_iter().map(|t| t.text).collect();
    assert_eq!(texts.len(), 2, "a new message starts afresh: {texts:?}");
    assert_eq!(texts[0], "And on Sundays?");
}
