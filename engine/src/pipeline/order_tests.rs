//! Order numbers in a message, on the responder over memory adapters: answered only for the
//! verified customer who placed the order.

use super::tests::{Rig, message, rig_with};
use crate::memory::MemoryCustomers;
use crate::tenant::Tenant;
use std::sync::Arc;
use switchboard_core::domain::{Channel, ConversationId, Role, TenantId};
use switchboard_core::ports::ConversationStore;

/// The bot's last answer in the test conversation (web chat answers are stored, not pushed).
async fn last_answer(rig: &Rig) -> String {
    let t = TenantId::new("demo").unwrap();
    let c = ConversationId::new("c_test").unwrap();
    let turns = rig.conversations.turns_after(&t, &c, None, 100).await.unwrap();
    turns.into_iter().rev().find(|t| t.role == Role::Bot).map(|t| t.text).unwrap_or_default()
}

/// The demo tenant with its seed customers stored.
async fn rig_with_customers() -> Rig {
    let demo = Tenant::demo().unwrap();
    let customers = Arc::new(MemoryCustomers::default());
    use switchboard_core::ports::CustomerStore;
    customers.put_customers(&demo.id, &demo.config.customers, None).await.unwrap();
    rig_with(demo, customers)
}

/// "Where is DS-20417?" names Ana's order. From Ana (verified) it is answered from that order;
/// from anyone unverified, on every channel, nothing about it is said — only how to be
/// recognised; from another verified customer, that it is not on their account.
#[tokio::test]
async fn an_order_number_is_answered_only_for_the_verified_customer_who_placed_it() {
    let ana = switchboard_core::domain::CustomerId::new("c-1001").unwrap();
    let ben = switchboard_core::domain::CustomerId::new("c-1002").unwrap();
    // What Ana's records say about DS-20417 and her older order DS-19876.
    let secrets = ["enviado", "shipped", "track.example", "Chaqueta", "2026-11-27", "Ana", "entregado", "delivered"];
    for channel in Channel::ALL {
        let rig = rig_with_customers().await;
        let m = message("Where is my order DS-20417?", channel);
        rig.responder.respond(&m).await.unwrap();
        let text = last_answer(&rig).await;
        assert!(
            text.contains("DS-20417") && text.contains("sign in"),
            "{channel:?}: says how to be recognised: {text}"
        );
        for secret in secrets {
            assert!(!text.contains(secret), "{channel:?}: an unverified sender learns nothing ({secret}): {text}");
        }
    }
    let rig = rig_with_customers().await;
    let mut from_ana = message("Where is my order DS-19876?", Channel::TwilioSms);
    from_ana.sender.customer = Some(ana);
    rig.responder.respond(&from_ana).await.unwrap();
    let text = last_answer(&rig).await;
    assert!(text.contains("DS-19876") && text.contains("delivered"), "the order she named, not her newest: {text}");

    let rig = rig_with_customers().await;
    let mut from_ben = message("Where is my order DS-20417?", Channel::TwilioSms);
    from_ben.sender.customer = Some(ben);
    rig.responder.respond(&from_ben).await.unwrap();
    let text = last_answer(&rig).await;
    assert!(text.contains("can't find order DS-20417") && text.contains("Ben"), "{text}");
    for secret in secrets {
        assert!(!text.contains(secret), "another customer learns nothing of Ana's order ({secret}): {text}");
    }
}
