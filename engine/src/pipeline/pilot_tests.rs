//! A pilot's decisions kept for review: a sample of the messages in `shadow` and `assist`
//! intents, with what the customer wrote and what the bot would have said, stored with the
//! conversation; nothing of `auto` intents.

use super::tests::{message, rig_with};
use crate::memory::MemoryCustomers;
use crate::tenant::Tenant;
use std::sync::Arc;
use switchboard_core::config::RolloutConfig;
use switchboard_core::domain::{Channel, ReviewKind, RolloutMode, TenantId};
use switchboard_core::ports::ConversationStore;

fn pilot(mode: RolloutMode, share: f64) -> Tenant {
    let mut demo = Tenant::demo().unwrap();
    demo.config.rollout = RolloutConfig { default: mode, review_share: share, ..Default::default() };
    demo
}

#[tokio::test]
async fn shadow_and_assist_decisions_are_kept_for_review_and_auto_ones_are_not() {
    let demo = TenantId::new("demo").unwrap();
    let rig = rig_with(pilot(RolloutMode::Shadow, 1.0), Arc::new(MemoryCustomers::default()));
    rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
    let kept = rig.conversations.reviews(&demo, ReviewKind::Pilot, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    let item = &kept[0];
    assert_eq!((item.mode, item.decision.as_str()), (RolloutMode::Shadow, "answer"));
    assert_eq!(item.text, "What are your opening hours?");
    assert_eq!(item.intent.as_deref(), Some("opening_hours"));
    assert!(item.reply.as_deref().is_some_and(|r| !r.is_empty()), "what the bot would have said: {item:?}");

    let rig = rig_with(pilot(RolloutMode::Assist, 1.0), Arc::new(MemoryCustomers::default()));
    rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
    let kept = rig.conversations.reviews(&demo, ReviewKind::Pilot, 10).await.unwrap();
    assert_eq!((kept[0].mode, kept[0].decision.as_str()), (RolloutMode::Assist, "escalate"));
    assert!(kept[0].reply.is_some(), "the agent's draft");
    assert_eq!(kept[0].reasons, ["draft for review"]);

    for tenant in [pilot(RolloutMode::Auto, 1.0), pilot(RolloutMode::Shadow, 0.0)] {
        let rig = rig_with(tenant, Arc::new(MemoryCustomers::default()));
        rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
        assert!(rig.conversations.reviews(&demo, ReviewKind::Pilot, 10).await.unwrap().is_empty());
    }
}

/// The share is a sample by message id: about that share of many messages, and the same
/// message always in or always out.
#[test]
fn the_review_sample_is_the_share_asked_for_and_stable_per_message() {
    let rollout = RolloutConfig { review_share: 0.25, ..Default::default() };
    let ids: Vec<_> = (0..4000).map(|_| switchboard_core::domain::MessageId::generate()).collect();
    let sampled = ids.iter().filter(|id| rollout.reviews(id)).count();
    assert!((850..=1150).contains(&sampled), "{sampled} of 4,000 at 25 %");
    // The same ids sampled the same on every build and Rust release (a hash with a fixed
    // definition): a redelivery after a deploy is sampled as the first delivery was.
    let half = RolloutConfig { review_share: 0.5, ..Default::default() };
    let fixed = ["m_0001", "m_0002", "m_0003", "m_0004", "m_0005", "m_0006", "m_0007", "m_0008"];
    let sampled: Vec<bool> =
        fixed.iter().map(|id| half.reviews(&switchboard_core::domain::MessageId::new(*id).unwrap())).collect();
    assert_eq!(sampled, FIXED_SAMPLE, "the sample of fixed ids at 50 %");
}

/// What the sample of `m_0001`…`m_0008` at 50 % is (the first 8 bytes of the id's SHA-256).
const FIXED_SAMPLE: [bool; 8] = [false, true, false, true, false, false, false, true];

/// Every question handed to a person because the bot had no answer it trusted is kept (in auto
/// mode too) for the report's "write these next"; a request for a person is not such a question.
#[tokio::test]
async fn unanswered_questions_are_kept_and_requests_for_a_person_are_not() {
    let demo = TenantId::new("demo").unwrap();
    let rig = rig_with(pilot(RolloutMode::Auto, 0.0), Arc::new(MemoryCustomers::default()));
    for text in ["Do you sell gift cards for weddings?", "I want to talk to a human"] {
        rig.responder.respond(&message(text, Channel::Webchat)).await.unwrap();
    }
    let kept = rig.conversations.reviews(&demo, ReviewKind::Unanswered, 10).await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].text, "Do you sell gift cards for weddings?");
    assert_eq!(kept[0].decision, "escalate");
    assert!(
        kept[0].reasons.iter().any(|r| r.contains("no answer") || r.contains("unsure")),
        "why it went to a person: {:?}",
        kept[0].reasons
    );
    assert!(rig.conversations.reviews(&demo, ReviewKind::Pilot, 10).await.unwrap().is_empty(), "auto: no pilot");
}
