//! The escalation policy: plain code over the tenant's rules. No model decides policy.

use crate::tenant::{PolicyRules, RolloutConfig};
use switchboard_core::domain::{
    Classification, ConversationState, Customer, Decision, EscalationPlan, Priority, Rating, Reason, Reply,
    ReplySource, Role, RolloutMode, Turn, Urgency,
};

/// Everything the policy looks at for one customer message.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// What the classifier made of the message.
    pub classification: &'a Classification,
    /// The verified customer, if any.
    pub customer: Option<&'a Customer>,
    /// Who owns the conversation.
    pub state: &'a ConversationState,
    /// Earlier turns of the conversation, oldest first (the current message excluded).
    pub history: &'a [Turn],
    /// The grounded answer the bot could give, if it has one.
    pub draft: Option<&'a Reply>,
}

/// A tenant's rules and rollout modes.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// Escalation rules.
    pub rules: &'a PolicyRules,
    /// Per-intent rollout modes.
    pub rollout: &'a RolloutConfig,
}

impl Policy<'_> {
    /// Decides what to do with one message.
    pub fn decide(&self, input: PolicyInput<'_>) -> Decision {
        if input.state.human_owned() {
            return Decision::Silent;
        }
        let base = self.base_decision(&input);
        match self.rollout.mode(input.classification.intent.as_deref()) {
            RolloutMode::Auto => base,
            RolloutMode::Shadow => match self.must_reach_a_person(&input) {
                Some(reasons) => handed_over(base, reasons, self.is_vip(input.customer)),
                None => Decision::Shadow { would: Box::new(base) },
            },
            RolloutMode::Assist => assist(base),
        }
    }

    /// Why a shadowed message must reach a person all the same: the customer asked for one (in
    /// words or by an intent the tenant always hands over), complains, or is angry. A pilot
    /// keeps the bot quiet; it must not leave these customers with nobody.
    fn must_reach_a_person(&self, input: &PolicyInput<'_>) -> Option<Vec<Reason>> {
        let mut reasons: Vec<Reason> = self
            .reasons(input)
            .into_iter()
            .filter(|r| {
                matches!(
                    r,
                    Reason::HumanRequested
                        | Reason::EscalatedIntent { .. }
                        | Reason::NegativeSentiment
                        | Reason::VipComplaint
                )
            })
            .collect();
        let intent = input.classification.intent.as_deref();
        if let Some(complaint) = intent.filter(|i| self.rules.complaint_intents.iter().any(|c| c == i))
            && !reasons.iter().any(|r| matches!(r, Reason::VipComplaint | Reason::EscalatedIntent { .. }))
        {
            reasons.push(Reason::Complaint { intent: complaint.to_string() });
        }
        (!reasons.is_empty()).then_some(reasons)
    }

    fn base_decision(&self, input: &PolicyInput<'_>) -> Decision {
        let reasons = self.reasons(input);
        let vip = self.is_vip(input.customer);
        match input.draft {
            Some(reply) if reasons.is_empty() => Decision::Answer { reply: reply.clone() },
            Some(reply) if reasons.iter().all(|r| !r.blocks_answer()) => {
                Decision::AnswerAndEscalate { reply: reply.clone(), escalation: plan(reasons, vip) }
            }
            _ => Decision::Escalate { escalation: plan(reasons, vip) },
        }
    }

    /// Every rule that fires, in the order the rules are listed in the tenant config.
    pub fn reasons(&self, input: &PolicyInput<'_>) -> Vec<Reason> {
        let c = input.classification;
        let r = self.rules;
        let intent = c.intent.as_deref();
        let listed = |list: &[String]| intent.is_some_and(|i| list.iter().any(|x| x == i));
        let mut reasons = Vec::new();
        if r.escalate_on_human_request && c.wants_human {
            reasons.push(Reason::HumanRequested);
        }
        if let Some(i) = intent.filter(|_| listed(&r.escalate_intents)) {
            reasons.push(Reason::EscalatedIntent { intent: i.to_string() });
        }
        if c.sentiment.score <= r.negative_sentiment_at_or_below {
            reasons.push(Reason::NegativeSentiment);
        }
        if r.escalate_on_high_urgency && c.urgency == Urgency::High {
            reasons.push(Reason::HighUrgency);
        }
        if self.is_vip(input.customer) && listed(&r.complaint_intents) {
            reasons.push(Reason::VipComplaint);
        }
        let times = repeats(intent, input.history);
        if r.repeat_limit > 0 && times >= r.repeat_limit {
            reasons.push(Reason::Repeated { times });
        }
        // "Unsure" and "no answer" matter only when nothing else already sends it to a person;
        // listing them beside a human request would mislead the agent.
        if reasons.iter().any(Reason::blocks_answer) {
            return reasons;
        }
        let unsure = intent.is_none() || c.confidence < r.min_confidence_for(intent);
        match input.draft {
            None if unsure => reasons.push(Reason::LowConfidence),
            None => reasons.push(Reason::NoGroundedAnswer),
            // An FAQ hit is grounded by retrieval itself; a template picked by an unsure
            // classifier may answer the wrong question.
            Some(reply) if unsure && matches!(reply.source, ReplySource::Template { .. }) => {
                reasons.push(Reason::LowConfidence)
            }
            Some(_) => {}
        }
        reasons
    }

    fn is_vip(&self, customer: Option<&Customer>) -> bool {
        customer.is_some_and(|c| self.rules.vip_tiers.iter().any(|t| t == &c.tier))
    }
}

/// What a customer's rating of the bot's last answer leads to: a 👎 hands the conversation to a
/// person (unless the tenant turned that off), a VIP's one step sooner; a 👍 is recorded and
/// needs no reply.
pub fn on_rating(rules: &PolicyRules, rating: Rating, customer: Option<&Customer>) -> Decision {
    let vip = customer.is_some_and(|c| rules.vip_tiers.iter().any(|t| t == &c.tier));
    match rating {
        Rating::Down if rules.escalate_on_down_rating => {
            Decision::Escalate { escalation: plan(vec![Reason::RatedDown], vip) }
        }
        _ => Decision::Rated { rating },
    }
}

/// How many times in a row the customer has sent `intent`, this message included.
fn repeats(intent: Option<&str>, history: &[Turn]) -> u32 {
    let Some(intent) = intent else { return 0 };
    1 + history
        .iter()
        .rev()
        .filter(|t| t.role == Role::Customer)
        .take_while(|t| t.intent.as_deref() == Some(intent))
        .count() as u32
}

fn plan(reasons: Vec<Reason>, vip: bool) -> EscalationPlan {
    let base = reasons
        .iter()
        .map(|r| match r {
            Reason::NegativeSentiment | Reason::HighUrgency | Reason::VipComplaint => Priority::High,
            Reason::Complaint { .. } => Priority::Normal,
            Reason::HumanRequested
            | Reason::EscalatedIntent { .. }
            | Reason::Repeated { .. }
            | Reason::AssistMode
            | Reason::ChannelWindowClosed
            | Reason::RatedDown
            | Reason::PaidSendsCapped => Priority::Normal,
            Reason::LowConfidence | Reason::NoGroundedAnswer => Priority::Low,
        })
        .max()
        .unwrap_or(Priority::Normal);
    let angry_and_urgent = reasons.contains(&Reason::NegativeSentiment) && reasons.contains(&Reason::HighUrgency);
    let priority = if angry_and_urgent { Priority::Urgent } else { base };
    EscalationPlan { reasons, priority: if vip { priority.raised() } else { priority }, draft: None }
}

/// A shadowed message a person must answer: escalated for `reasons`, whatever the bot would have
/// said going to the agent as a draft, never to the customer.
fn handed_over(base: Decision, reasons: Vec<Reason>, vip: bool) -> Decision {
    let draft = match base {
        Decision::Answer { reply } | Decision::AnswerAndEscalate { reply, .. } => Some(reply),
        _ => None,
    };
    Decision::Escalate { escalation: EscalationPlan { draft, ..plan(reasons, vip) } }
}

/// Assist mode: whatever the bot would have said goes to an agent as a draft instead.
fn assist(base: Decision) -> Decision {
    match base {
        Decision::Answer { reply } => Decision::Escalate {
            escalation: EscalationPlan {
                reasons: vec![Reason::AssistMode],
                priority: Priority::Normal,
                draft: Some(reply),
            },
        },
        Decision::AnswerAndEscalate { reply, mut escalation } => {
            escalation.reasons.push(Reason::AssistMode);
            escalation.draft = Some(reply);
            Decision::Escalate { escalation }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use std::collections::BTreeMap;
    use switchboard_core::domain::{
        ClassifierSource, CustomerId, Language, MessageId, Sentiment, TicketRef, TurnCursor,
    };

    fn rules() -> PolicyRules {
        PolicyRules {
            escalate_intents: vec!["human_agent".into(), "legal".into()],
            escalate_on_human_request: true,
            negative_sentiment_at_or_below: -0.5,
            escalate_on_high_urgency: true,
            min_confidence: 0.5,
            vip_tiers: vec!["vip".into()],
            complaint_intents: vec!["complaint".into()],
            repeat_limit: 3,
            escalate_on_down_rating: true,
            intent_min_confidence: Default::default(),
        }
    }

    fn classification(intent: Option<&str>, confidence: f32) -> Classification {
        Classification {
            intent: intent.map(str::to_string),
            confidence,
            top: vec![],
            sentiment: Sentiment::from_score(0.0),
            urgency: Urgency::Normal,
            language: Some(Language::EN),
            wants_human: false,
            summary: None,
            source: ClassifierSource::Local,
        }
    }

    fn template(intent: &str) -> Reply {
        Reply { text: "answer".into(), language: Language::EN, source: ReplySource::Template { intent: intent.into() } }
    }

    fn faq() -> Reply {
        Reply {
            text: "faq answer".into(),
            language: Language::EN,
            source: ReplySource::Faq { entry: "e".into(), score: 3.0 },
        }
    }

    fn customer(tier: &str) -> Customer {
        Customer {
            id: CustomerId::new("c1").unwrap(),
            name: "Ana".into(),
            tier: tier.into(),
            language: None,
            orders: vec![],
            attributes: BTreeMap::new(),
            phones: vec![],
            emails: vec![],
        }
    }

    fn turn(role: Role, intent: Option<&str>) -> Turn {
        let id = MessageId::generate();
        Turn {
            cursor: TurnCursor::new(Utc::now(), &id),
            id,
            role,
            text: "t".into(),
            at: Utc::now(),
            intent: intent.map(str::to_string),
            delivered: false,
            parts_sent: 0,
            seq: 0,
        }
    }

    struct Case {
        rules: PolicyRules,
        rollout: RolloutConfig,
        c: Classification,
        customer: Option<Customer>,
        state: ConversationState,
        history: Vec<Turn>,
        draft: Option<Reply>,
    }

    impl Case {
        fn new(c: Classification, draft: Option<Reply>) -> Self {
            Self {
                rules: rules(),
                rollout: RolloutConfig::default(),
                c,
                customer: None,
                state: ConversationState::Bot,
                history: vec![],
                draft,
            }
        }
        fn decide(&self) -> Decision {
            Policy { rules: &self.rules, rollout: &self.rollout }.decide(PolicyInput {
                classification: &self.c,
                customer: self.customer.as_ref(),
                state: &self.state,
                history: &self.history,
                draft: self.draft.as_ref(),
            })
        }
    }

    fn escalation(d: &Decision) -> &EscalationPlan {
        match d {
            Decision::Escalate { escalation } | Decision::AnswerAndEscalate { escalation, .. } => escalation,
            other => panic!("expected an escalation, got {other:?}"),
        }
    }

    #[test]
    fn confident_grounded_answer_is_sent() {
        let d = Case::new(classification(Some("order_status"), 0.9), Some(template("order_status"))).decide();
        assert_eq!(d, Decision::Answer { reply: template("order_status") });
    }

    #[test]
    fn human_request_escalates_without_answering() {
        let mut c = classification(Some("order_status"), 0.9);
        c.wants_human = true;
        let d = Case::new(c, Some(template("order_status"))).decide();
        assert!(matches!(d, Decision::Escalate { .. }));
        assert_eq!(escalation(&d).reasons, vec![Reason::HumanRequested]);
        assert_eq!(escalation(&d).priority, Priority::Normal);
    }

    #[test]
    fn human_request_rule_can_be_switched_off() {
        let mut c = classification(Some("order_status"), 0.9);
        c.wants_human = true;
        let mut case = Case::new(c, Some(template("order_status")));
        case.rules.escalate_on_human_request = false;
        assert!(matches!(case.decide(), Decision::Answer { .. }));
    }

    #[test]
    fn listed_intents_escalate() {
        let d = Case::new(classification(Some("legal"), 0.95), Some(template("legal"))).decide();
        assert_eq!(escalation(&d).reasons, vec![Reason::EscalatedIntent { intent: "legal".into() }]);
        assert!(matches!(d, Decision::Escalate { .. }));
    }

    #[test]
    fn negative_sentiment_answers_and_escalates_with_high_priority() {
        let mut c = classification(Some("order_status"), 0.9);
        c.sentiment = Sentiment::from_score(-0.7);
        let d = Case::new(c, Some(template("order_status"))).decide();
        assert!(matches!(d, Decision::AnswerAndEscalate { .. }));
        assert_eq!(escalation(&d).reasons, vec![Reason::NegativeSentiment]);
        assert_eq!(escalation(&d).priority, Priority::High);
    }

    #[test]
    fn mild_negativity_above_the_threshold_does_not_escalate() {
        let mut c = classification(Some("order_status"), 0.9);
        c.sentiment = Sentiment::from_score(-0.3);
        assert!(matches!(Case::new(c, Some(template("order_status"))).decide(), Decision::Answer { .. }));
    }

    #[test]
    fn high_urgency_escalates_and_with_anger_is_urgent() {
        let mut c = classification(Some("order_status"), 0.9);
        c.urgency = Urgency::High;
        let d = Case::new(c.clone(), Some(template("order_status"))).decide();
        assert_eq!(escalation(&d).reasons, vec![Reason::HighUrgency]);
        assert_eq!(escalation(&d).priority, Priority::High);
        c.sentiment = Sentiment::from_score(-0.9);
        let d = Case::new(c.clone(), Some(template("order_status"))).decide();
        assert_eq!(escalation(&d).priority, Priority::Urgent);
        let mut case = Case::new(c, Some(template("order_status")));
        case.rules.escalate_on_high_urgency = false;
        assert_eq!(escalation(&case.decide()).reasons, vec![Reason::NegativeSentiment]);
    }

    #[test]
    fn low_confidence_without_faq_escalates_with_low_priority() {
        let d = Case::new(classification(None, 0.2), None).decide();
        assert_eq!(escalation(&d).reasons, vec![Reason::LowConfidence]);
        assert_eq!(escalation(&d).priority, Priority::Low);
        // An unsure classifier must not pick a template answer either.
        let d = Case::new(classification(Some("order_status"), 0.4), Some(template("order_status"))).decide();
        assert_eq!(escalation(&d).reasons, vec![Reason::LowConfidence]);
    }

    #[test]
    fn out_of_scope_with_a_grounded_faq_hit_is_answered() {
        let d = Case::new(classification(None, 0.2), Some(faq())).decide();
        assert_eq!(d, Decision::Answer { reply: faq() });
    }

    #[test]
    fn known_intent_without_any_grounded_answer_escalates() {
        let d = Case::new(classification(Some("product_question"), 0.9), None).decide();
        assert_eq!(escalation(&d).reasons, vec![Reason::NoGroundedAnswer]);
    }

    #[test]
    fn vip_complaint_escalates_with_raised_priority() {
        let mut case = Case::new(classification(Some("complaint"), 0.9), Some(template("complaint")));
        case.customer = Some(customer("vip"));
        let d = case.decide();
        assert_eq!(escalation(&d).reasons, vec![Reason::VipComplaint]);
        assert_eq!(escalation(&d).priority, Priority::Urgent);
        case.customer = Some(customer("standard"));
        assert!(matches!(case.decide(), Decision::Answer { .. }));
    }

    #[test]
    fn vip_customers_get_higher_priority_on_any_escalation() {
        let mut c = classification(Some("order_status"), 0.9);
        c.wants_human = true;
        let mut case = Case::new(c, None);
        case.customer = Some(customer("vip"));
        assert_eq!(escalation(&case.decide()).priority, Priority::High);
    }

    #[test]
    fn repeated_intent_escalates_at_the_limit() {
        let mut case = Case::new(classification(Some("order_status"), 0.9), Some(template("order_status")));
        case.history = vec![turn(Role::Customer, Some("order_status")), turn(Role::Bot, None)];
        assert!(matches!(case.decide(), Decision::Answer { .. }), "2 in a row is under the limit");
        case.history = vec![
            turn(Role::Customer, Some("order_status")),
            turn(Role::Bot, None),
            turn(Role::Customer, Some("order_status")),
            turn(Role::Bot, None),
        ];
        let d = case.decide();
        assert_eq!(escalation(&d).reasons, vec![Reason::Repeated { times: 3 }]);
        // Another intent in between breaks the run.
        case.history = vec![
            turn(Role::Customer, Some("order_status")),
            turn(Role::Customer, Some("shipping")),
            turn(Role::Customer, Some("order_status")),
        ];
        assert!(matches!(case.decide(), Decision::Answer { .. }));
        case.rules.repeat_limit = 0;
        case.history = vec![turn(Role::Customer, Some("order_status")); 5];
        assert!(matches!(case.decide(), Decision::Answer { .. }), "0 turns the rule off");
    }

    #[test]
    fn bot_is_silent_while_a_human_owns_the_conversation() {
        let mut c = classification(Some("order_status"), 0.9);
        c.wants_human = true;
        let mut case = Case::new(c, Some(template("order_status")));
        case.state = ConversationState::HandoffPending { escalation: MessageId::generate(), since: Utc::now() };
        assert_eq!(case.decide(), Decision::Silent);
        case.state = ConversationState::HumanOwned {
            ticket: TicketRef { helpdesk: "console".into(), id: "1".into(), url: None },
            since: Utc::now(),
        };
        assert_eq!(case.decide(), Decision::Silent);
    }

    #[test]
    fn shadow_mode_records_what_would_have_happened() {
        let mut case = Case::new(classification(Some("order_status"), 0.9), Some(template("order_status")));
        case.rollout.intents.insert("order_status".into(), RolloutMode::Shadow);
        assert_eq!(
            case.decide(),
            Decision::Shadow { would: Box::new(Decision::Answer { reply: template("order_status") }) }
        );
        case.rollout.intents.clear();
        case.rollout.default = RolloutMode::Shadow;
        assert!(matches!(case.decide(), Decision::Shadow { .. }), "the default mode applies to unlisted intents");
    }

    /// Shadow mode keeps the bot quiet, not the customer unheard: a request for a person, an
    /// intent the tenant always hands over, a complaint (VIP or not) and anger escalate as in
    /// auto mode, with the bot's would-be answer as the agent's draft.
    #[test]
    fn shadow_mode_still_hands_over_what_must_reach_a_person() {
        let shadowed = |c: Classification, draft: Option<Reply>| {
            let mut case = Case::new(c, draft);
            case.rollout.default = RolloutMode::Shadow;
            case.decide()
        };
        let mut asks = classification(Some("order_status"), 0.9);
        asks.wants_human = true;
        let d = shadowed(asks, Some(template("order_status")));
        assert!(matches!(d, Decision::Escalate { .. }), "{d:?}");
        assert_eq!(escalation(&d).reasons, vec![Reason::HumanRequested]);

        let d = shadowed(classification(Some("legal"), 0.9), None);
        assert!(matches!(d, Decision::Escalate { .. }), "an intent always handed over: {d:?}");

        let d = shadowed(classification(Some("complaint"), 0.9), Some(template("complaint")));
        assert!(matches!(d, Decision::Escalate { .. }), "a complaint from anyone: {d:?}");
        assert_eq!(escalation(&d).reasons, vec![Reason::Complaint { intent: "complaint".into() }]);
        assert_eq!(escalation(&d).draft, Some(template("complaint")), "the would-be answer is a draft");

        let mut angry = classification(Some("order_status"), 0.9);
        angry.sentiment = Sentiment::from_score(-0.8);
        let d = shadowed(angry, Some(template("order_status")));
        assert!(matches!(d, Decision::Escalate { .. }), "anger: {d:?}");
        assert_eq!(escalation(&d).draft, Some(template("order_status")));

        let d = shadowed(classification(None, 0.2), None);
        assert!(matches!(d, Decision::Shadow { .. }), "an unsure, unanswered message stays in the pilot: {d:?}");
        let mut urgent = classification(Some("order_status"), 0.9);
        urgent.urgency = Urgency::High;
        assert!(matches!(shadowed(urgent, Some(template("order_status"))), Decision::Shadow { .. }));
    }

    /// An intent may need a surer classifier than the rest: below its own threshold its template
    /// is not sent; other intents keep the tenant's.
    #[test]
    fn an_intents_own_threshold_holds_back_its_unsure_answers() {
        let mut case = Case::new(classification(Some("order_status"), 0.6), Some(template("order_status")));
        assert!(matches!(case.decide(), Decision::Answer { .. }), "0.6 passes the tenant's 0.5");
        case.rules.intent_min_confidence.insert("order_status".into(), 0.8);
        let d = case.decide();
        assert!(matches!(d, Decision::Escalate { .. }), "{d:?}");
        assert_eq!(escalation(&d).reasons, vec![Reason::LowConfidence]);
        let other = Case::new(classification(Some("shipping"), 0.6), Some(template("shipping")));
        let mut other = other;
        other.rules.intent_min_confidence.insert("order_status".into(), 0.8);
        assert!(matches!(other.decide(), Decision::Answer { .. }), "another intent keeps the tenant's");
    }

    #[test]
    fn assist_mode_sends_the_draft_to_an_agent() {
        let mut case = Case::new(classification(Some("order_status"), 0.9), Some(template("order_status")));
        case.rollout.intents.insert("order_status".into(), RolloutMode::Assist);
        let d = case.decide();
        assert!(matches!(d, Decision::Escalate { .. }));
        assert_eq!(escalation(&d).reasons, vec![Reason::AssistMode]);
        assert_eq!(escalation(&d).draft, Some(template("order_status")));

        case.c.sentiment = Sentiment::from_score(-0.8);
        let d = case.decide();
        assert!(matches!(d, Decision::Escalate { .. }), "answer-and-escalate becomes escalate with a draft");
        assert_eq!(escalation(&d).reasons, vec![Reason::NegativeSentiment, Reason::AssistMode]);
        assert!(escalation(&d).draft.is_some());
    }

    #[test]
    fn auto_mode_on_other_intents_is_unaffected() {
        let mut case = Case::new(classification(Some("order_status"), 0.9), Some(template("order_status")));
        case.rollout.intents.insert("shipping".into(), RolloutMode::Assist);
        assert!(matches!(case.decide(), Decision::Answer { .. }));
    }
}
