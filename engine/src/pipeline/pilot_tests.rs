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

/// A customer's SMS `minute` minutes after the first.
fn sms(text: &str, minute: i64) -> switchboard_core::domain::InboundMessage {
    let mut m = message(text, Channel::TwilioSms);
    m.received_at += chrono::Duration::minutes(minute);
    m
}

/// A one-tap rating right after an answer, on any channel: 👍 is recorded and answered with
/// nothing; 👎 hands the conversation to a person (the tenant's default); either carries the
/// intent of the answer rated, for the report's satisfaction per intent. A thumb that follows
/// no answer is just a message.
#[tokio::test]
async fn a_thumb_after_an_answer_is_a_rating_and_a_thumb_down_hands_over() {
    use switchboard_core::domain::{Decision, Rating, Role};
    let mut rig = rig_with(Tenant::demo().unwrap(), Arc::new(MemoryCustomers::default()));
    let first = rig.responder.respond(&sms("What are your opening hours?", 0)).await.unwrap();
    assert!(matches!(first.decision, Decision::Answer { .. }));
    let sent = rig.outbox_len();
    let up = rig.responder.respond(&sms("👍🏽", 1)).await.unwrap();
    assert_eq!(up.decision, Decision::Rated { rating: Rating::Up });
    assert_eq!(up.cost.outcome.rating, Some(Rating::Up));
    assert_eq!(up.cost.outcome.intent.as_deref(), Some("opening_hours"), "the intent rated");
    assert_eq!(rig.outbox_len(), sent, "nothing sent back for a thumb up");

    rig.responder.respond(&sms("What are your opening hours?", 2)).await.unwrap();
    let down = rig.responder.respond(&sms(" 👎 ", 3)).await.unwrap();
    assert!(
        matches!(&down.decision, Decision::Escalate { escalation } if escalation.reasons == [switchboard_core::domain::Reason::RatedDown])
    );
    assert_eq!(down.cost.outcome.rating, Some(Rating::Down));
    assert!(rig.escalated(), "a person takes over");
    let roles = rig.roles().await;
    assert_eq!(roles.last(), Some(&Role::System), "the customer is told a person will reply");

    // A thumb with no answer just before it (a second tap, a tap after a reload) rates nothing
    // and asks nothing: no ticket, no count.
    let mut fresh = rig_with(Tenant::demo().unwrap(), Arc::new(MemoryCustomers::default()));
    let alone = fresh.responder.respond(&sms("👍", 0)).await.unwrap();
    assert_eq!(alone.decision, Decision::Rated { rating: Rating::Up });
    assert_eq!(alone.cost.outcome.rating, None, "not counted");
    let again = fresh.responder.respond(&sms("👎", 1)).await.unwrap();
    assert_eq!(again.decision, Decision::Rated { rating: Rating::Down }, "nothing to rate: no handoff");
    assert!(!fresh.escalated());
}

/// A 👎 redelivered after its handoff was half done (the state moved, the ticket job not yet
/// queued) is still the same rating, and completes the same handoff.
#[tokio::test]
async fn a_redelivered_thumb_down_is_the_same_rating() {
    use switchboard_core::domain::{Decision, Rating};
    let mut rig = rig_with(Tenant::demo().unwrap(), Arc::new(MemoryCustomers::default()));
    rig.responder.respond(&sms("What are your opening hours?", 0)).await.unwrap();
    let down = sms("👎", 1);
    rig.escalations_down(true);
    assert!(rig.responder.respond(&down).await.is_err(), "the ticket job could not be queued");
    rig.escalations_down(false);
    let retried = rig.responder.respond(&down).await.unwrap();
    assert!(matches!(retried.decision, Decision::Escalate { .. }), "{:?}", retried.decision);
    assert_eq!(retried.cost.outcome.rating, Some(Rating::Down));
    assert!(rig.escalated());
}

#[test]
fn only_a_thumb_is_a_rating() {
    use switchboard_core::domain::Rating;
    assert_eq!(Rating::of("👍"), Some(Rating::Up));
    assert_eq!(Rating::of(" 👎🏿 "), Some(Rating::Down));
    assert_eq!(Rating::of("👍️"), Some(Rating::Up), "with the emoji presentation selector");
    assert_eq!(Rating::of(":+1:"), Some(Rating::Up), "Slack sends shortcodes");
    assert_eq!(Rating::of(":thumbsdown:"), Some(Rating::Down));
    assert_eq!(Rating::of("👍 thanks"), None);
    assert_eq!(Rating::of("👍👍"), None);
    assert_eq!(Rating::of(""), None);
}
